"""``flask civic export-open-data OUT.db``: published disclosures as open data."""

from __future__ import annotations

import click

from civic.core.cli import civic_cli


@civic_cli.command("export-open-data")
@click.argument("out", type=click.Path(dir_okay=False))
def export_open_data(out):
    """Write published disclosures, their lines and answered inquiries (no personal data) to a
    SQLite file with Chinese full-text search, and CSV files beside it."""
    from civic.village.opendata import export

    counts = export(out)
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
