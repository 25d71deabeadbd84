"""``flask civic create-admin``: the first administrator account."""

from __future__ import annotations

import click

from civic.core.cli import civic_cli, fail
from civic.core.db import commit
from civic.core.errors import CivicError


@civic_cli.command("create-admin")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="管理员")
def create_admin(username, password, name):
    """Create an administrator account."""
    from civic.accounts.service import create_staff, validate_password

    try:
        validate_password(password)
        create_staff(username=username, password=password, display_name=name, kind="admin")
        commit()
    except CivicError as exc:
        fail(exc)
    click.echo(f"administrator {username} created")
