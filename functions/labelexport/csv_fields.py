"""Splits a CSV line into fields: a plain split when it holds no quote, the csv module otherwise."""

from __future__ import annotations

import csv

from labelexport import rejects
from labelexport.rejects import RowError


def split_fields(line: str) -> list[str]:
    """The fields of one CSV record (without its line end); quoted fields may hold commas."""
    if '"' not in line:
        return line.split(",")
    try:
        rows = list(csv.reader([line], strict=True))
    except csv.Error as exc:
        raise RowError(rejects.UNTERMINATED_QUOTE, f"malformed quoting: {exc}") from None
    return rows[0] if rows else [""]


def needs_more_lines(record: str) -> bool:
    """True while a record has an odd number of quotes: a quoted field spans the line end."""
    return record.count('"') % 2 == 1
