"""Reading an import file (CSV) the one way every import does: all or nothing, every bad row told.

Imports (places and organisations, staff, the residents' register) check every row, collect every
fault as ``{"line": n, "column": "name", "reason": "中文说明"}`` (line 1 is the header; ``None`` for
a fault of the whole file) and write nothing unless every row is good.  This module holds what they
share: :class:`ImportReport` (the faults and the refusal) and :func:`rows_from_csv` (header checks,
a row longer than its header, the row limit).  What a row means stays in its domain.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from civic.core.errors import ValidationFailed

#: At most this many data rows per file (a city's registry fits; a runaway file is refused).
MAX_ROWS = 200_000


@dataclass
class ImportReport:
    """The faults an import found; a domain's report adds its counts (places, accounts...)."""

    errors: list[dict] = field(default_factory=list)

    def error(self, line: int | None, column: str | None, reason: str) -> None:
        self.errors.append({"line": line, "column": column, "reason": reason})

    def refuse_if_errors(self) -> None:
        """Refuse the whole file when any row was bad, faults of the whole file first, then by line.

        :raises ValidationFailed: ``import_invalid`` with ``details.errors``; nothing was written.
        """
        if self.errors:
            self.errors.sort(key=lambda e: (e["line"] is not None, e["line"] or 0))
            raise ValidationFailed(f"导入失败：共 {len(self.errors)} 处错误，未写入任何数据",
                                   code="import_invalid", details={"errors": self.errors})


def rows_from_csv(text: str, required: Iterable[str], allowed: Iterable[str], report: ImportReport,
                  max_rows: int = MAX_ROWS) -> list[tuple[int, dict]]:
    """``[(line, {column: stripped value})]`` of a CSV's data rows (UTF-8; Excel's byte-order mark
    allowed).  A missing required column or an unknown one is reported on line 1 and no row is
    read; a row with more cells than the header is reported and left out; past ``max_rows`` the
    reading stops with a fault."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = reader.fieldnames or []
    allowed = set(allowed)
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in allowed]
    for c in missing:
        report.error(1, c, "缺少该列")
    for c in unknown:
        report.error(1, c, "未知的列")
    if missing or unknown:
        return []
    rows = []
    for row in reader:
        if None in row:  # more cells than the header has
            report.error(reader.line_num, None, "该行的列数多于表头")
            continue
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
        if len(rows) > max_rows:
            report.error(reader.line_num, None, f"行数超过上限 {max_rows}")
            break
    return rows
