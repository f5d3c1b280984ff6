"""Infers an export's format and annotation type from its first rows, when nobody says them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from labelexport import csv_fields, formats, ml_use
from labelexport.errors import SourceError
from labelexport.formats import Format
from labelexport.formats.csv_checks import is_number
from labelexport.rejects import RowError

_VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".flv", ".wmv", ".mpg", ".mpeg",
                     ".m4v", ".3gp")
_TEXT_EXTENSIONS = (".txt", ".text", ".md", ".html", ".htm", ".pdf", ".json", ".csv", ".tsv")


def sniff_format(lines: Iterable[str]) -> str | None:
    """'jsonl' when the first non-blank line opens a JSON object or array, 'csv' otherwise."""
    for line in lines:
        text = line.strip()
        if text:
            return "jsonl" if text.startswith(("{", "[")) else "csv"
    return None


def _media(uri: str) -> str:
    path = uri.lower().split("?", 1)[0]
    if path.endswith(_VIDEO_EXTENSIONS):
        return "video"
    if path.endswith(_TEXT_EXTENSIONS):
        return "text"
    return "image"


def _csv_row_shape(line: str) -> Format | None:
    """The format one CSV row looks like, or None for a row that tells nothing."""
    try:
        fields = csv_fields.split_fields(line.rstrip("\r"))
    except RowError:
        return None
    if ml_use.parse(fields[0]) is not None:
        fields = fields[1:]
    if not fields or "://" not in fields[0]:
        return None
    media, rest = _media(fields[0]), fields[1:]
    if not any(rest):
        return None  # a negative example fits every type
    numeric = [bool(f) and is_number(f) for f in rest[1:]]
    for fmt in formats.FORMATS:
        if fmt.media == media and fmt.csv_shape is not None and fmt.csv_shape(rest, numeric):
            return fmt
    return None


def _jsonl_row_shape(line: str) -> Format | None:
    try:
        example = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(example, dict):
        return None
    for fmt in formats.FORMATS:
        if fmt.jsonl_shape is not None and fmt.jsonl_shape(example):
            return fmt
    return None


def infer_type(lines: Iterable[str], fmt: str) -> Format:
    """The format most sample rows look like; SourceError if none looks like any."""
    shape = _csv_row_shape if fmt == "csv" else _jsonl_row_shape
    votes = Counter(s for s in map(shape, lines) if s is not None)
    if not votes:
        raise SourceError(f"cannot infer the annotation type: no row among the first ones looks "
                          f"like a known {fmt.upper()} export row (pass the type)")
    seen = {f.name for f in votes}
    for candidate in formats.FORMATS:
        if candidate.inferred_from_mix and candidate.inferred_from_mix <= seen:
            return candidate
    return votes.most_common(1)[0][0]
