"""``flask civic import-staff FILE.csv``: staff accounts and their roles from a CSV, all or nothing
(:mod:`civic.accounts.staff_import`; every bad row is printed with its line, column and reason).

The one-time passwords of the new accounts are written to a CSV (``username, display_name,
one_time_password``) that only the operator can read: created with mode 0600, never over an
existing file, by default ``FILE.passwords.csv`` beside the import.  Hand each member their own
line; each must choose their own password at the first login (``must_change_password``).  Nothing
is imported when the file cannot be written, and the file is removed when the import is not
committed.
"""

from __future__ import annotations

import csv
import os

import click

from civic.core.cli import civic_cli, fail, read_text
from civic.core.db import commit
from civic.core.errors import CivicError, Conflict


def _write_passwords(path: str, passwords) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Conflict(f"密码文件已存在，不会覆盖：{path}", code="passwords_file_exists",
                       details={"path": path}) from None
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(("username", "display_name", "one_time_password"))
        out.writerows(passwords)


@civic_cli.command("import-staff")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--passwords-out", "passwords_out", type=click.Path(dir_okay=False),
              help="where to write the one-time passwords (mode 0600; default FILE.passwords.csv)")
def import_staff(path, passwords_out):
    """Import staff accounts and memberships from a CSV (all or nothing)."""
    from civic.accounts.staff_import import import_staff_csv

    out = passwords_out or f"{os.path.splitext(path)[0]}.passwords.csv"
    written = committed = False
    try:
        if os.path.exists(out):
            raise Conflict(f"密码文件已存在，不会覆盖：{out}", code="passwords_file_exists", details={"path": out})
        report = import_staff_csv(read_text(path))
        _write_passwords(out, report.passwords)
        written = True
        commit()
        committed = True
    except CivicError as exc:
        fail(exc)
    finally:
        if written and not committed:  # the accounts were not created: their passwords mean nothing
            os.remove(out)
    click.echo(f"imported {report.accounts} staff accounts, {report.memberships} memberships; "
               f"one-time passwords in {out} (readable by you only; each must be changed at first login)")
