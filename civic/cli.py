"""``flask civic seed-demo``: the one command that spans every domain (it loads each one's demo)."""

from __future__ import annotations

import json

import click

from civic.core.cli import civic_cli, fail
from civic.core.db import commit
from civic.core.errors import CivicError


@civic_cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing if the registry already has places.")
def seed_demo(if_empty):
    """Load the demo street (communities, compounds, a village, organisations, accounts)."""
    from civic.demo import load_demo

    try:
        summary = load_demo(if_empty=if_empty, cases=True)
        commit()
    except CivicError as exc:
        fail(exc)
    click.echo(json.dumps(summary, ensure_ascii=False))
