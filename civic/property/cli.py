"""``flask civic import-places | import-organisations | import-seed``: load the registry from files
(all or nothing; a CSV's line errors are printed)."""

from __future__ import annotations

import json

import click

from civic.core.cli import civic_cli, fail
from civic.core.db import commit
from civic.core.errors import CivicError, ValidationFailed


def _read(path: str, encoding: str = "utf-8-sig") -> str:
    """The file's text; a file that is not UTF-8 text is refused in one line (``file_not_utf8``)."""
    try:
        with open(path, encoding=encoding) as f:
            return f.read()
    except UnicodeDecodeError:
        raise ValidationFailed(f"文件不是 UTF-8 文本：{path}", code="file_not_utf8", details={"path": path}) from None


@civic_cli.command("import-places")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_places(path):
    """Import a places CSV (all or nothing)."""
    from civic.property.importer import import_places_csv

    try:
        report = import_places_csv(_read(path))
        commit()
    except CivicError as exc:
        fail(exc)
    click.echo(f"imported {report.places} places")



@civic_cli.command("import-organisations")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_organisations(path):
    """Import an organisations CSV (all or nothing)."""
    from civic.property.importer import import_organisations_csv

    try:
        report = import_organisations_csv(_read(path))
        commit()
    except CivicError as exc:
        fail(exc)
    click.echo(f"imported {report.organisations} organisations")



@civic_cli.command("import-seed")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_seed(path):
    """Import a seed JSON file of places and organisations (all or nothing)."""
    from civic.property.importer import import_seed as do_import

    try:
        try:
            seed = json.loads(_read(path, "utf-8"))
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"种子文件不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）",
                                   code="seed_not_json", details={"line": exc.lineno}) from None
        report = do_import(seed)
        commit()
    except CivicError as exc:
        fail(exc)
    click.echo(f"imported {report.places} places, {report.organisations} organisations")

