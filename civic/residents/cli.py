"""``flask civic import-residents PATH``: the committee's register of residents (all or nothing)."""

from __future__ import annotations

import click

from civic.core.cli import civic_cli, fail, read_text
from civic.core.db import commit
from civic.core.errors import CivicError


@civic_cli.command("import-residents")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_residents(path):
    """Tie residents to units from a register CSV (unit_code,name,phone,relation,representative)."""
    from civic.residents.importer import import_register_csv

    try:
        result = import_register_csv(read_text(path))
        commit()
    except CivicError as exc:
        fail(exc)
    click.echo(f"imported {result['links']} links, {result['residents_created']} new residents")
