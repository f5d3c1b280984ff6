"""Splits a CSV line into fields: a plain split when it holds no quote, the csv module otherwise."""

from __future__ import annotations

import csv

from labelexport import rejects
from labelexport.line_reader import MAX_LINE_BYTES
from labelexport.rejects import RowError

csv.field_size_limit(MAX_LINE_BYTES)  # a quoted field may be as long as a line may


def split_fields(line: str) -> list[str]:
    """The fields of one CSV record (without its line end); quoted fields may hold commas but
    not line ends: export rows never span lines, so an unbalanced quote is this row's error."""
    if '"' not in line:
        return line.split(",")
    if line.count('"') % 2:
        raise RowError(rejects.UNTERMINATED_QUOTE, "a quoted field is never closed")
    try:
        rows = list(csv.reader([line], strict=True))
    except csv.Error as exc:
        raise RowError(rejects.UNTERMINATED_QUOTE, f"malformed quoting: {exc}") from None
    return rows[0] if rows else [""]

