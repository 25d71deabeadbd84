"""``flask civic export-open-data OUT.db``: published disclosures as open data."""

from __future__ import annotations

import click

from civic.core.cli import civic_cli


@civic_cli.command("export-open-data")
@click.argument("out", type=click.Path(dir_okay=False))
def export_open_data(out):
    """Write published disclosures, their lines and answered inquiries (no personal data) to a
    SQLite file with Chinese full-text search, and CSV files beside it."""
    from pathlib import Path

    from civic.core.errors import ValidationFailed
    from civic.village.opendata import export

    folder = Path(out).resolve().parent
    if not folder.is_dir():
        raise ValidationFailed(f"输出目录不存在：{folder}", code="output_dir_missing", details={"dir": str(folder)})

    counts = export(out)
    click.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
