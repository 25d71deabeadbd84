"""``flask civic import-places | import-organisations | import-seed``: load the registry from files
(all or nothing; a CSV's line errors are printed)."""

from __future__ import annotations

import json

import click

from civic.core.cli import civic_cli, fail, read_text
from civic.core.db import commit
from civic.core.errors import CivicError, ValidationFailed


@civic_cli.command("import-places")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_places(path):
    """Import a places CSV (all or nothing)."""
    from civic.property.importer import import_places_csv

    try:
        report = import_places_csv(read_text(path))
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
        report = import_organisations_csv(read_text(path))
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
            seed = json.loads(read_text(path, "utf-8"))
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"种子文件不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）",
                                   code="seed_not_json", details={"line": exc.lineno}) from None
        report = do_import(seed)
        commit()
    except CivicError as exc:
        fail(exc)
    click.echo(f"imported {report.places} places, {report.organisations} organisations")

