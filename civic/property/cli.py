"""``flask civic import-places | import-organisations | import-seed``: load the registry from files
(all or nothing; a CSV's line errors are printed)."""

from __future__ import annotations

import json

import click

from civic.core.cli import civic_cli, fail
from civic.core.db import commit
from civic.core.errors import CivicError


@civic_cli.command("import-places")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_places(path):
    """Import a places CSV (all or nothing)."""
    from civic.property.importer import import_places_csv

    try:
        with open(path, encoding="utf-8-sig") as f:
            report = import_places_csv(f.read())
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
        with open(path, encoding="utf-8-sig") as f:
            report = import_organisations_csv(f.read())
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
        with open(path, encoding="utf-8") as f:
            report = do_import(json.load(f))
        commit()
    except CivicError as exc:
        fail(exc)
    click.echo(f"imported {report.places} places, {report.organisations} organisations")

