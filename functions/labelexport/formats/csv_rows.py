"""A CSV export line, whatever its format: `[ML_USE,]URI,annotation fields...`.

The ML-use column is optional (import files may leave it out: then the first column is the
URI); the annotation fields are the format's own (its `CsvCheck`). Rows never span lines.
"""

from __future__ import annotations

from labelexport import ml_use, rejects
from labelexport.csv_fields import split_fields
from labelexport.formats.format import CsvCheck, RowDecoder
from labelexport.ml_use import CANONICAL_FIELD, UNASSIGNED
from labelexport.rejects import RowError

MAX_FIELDS = 10_000  # no export row has more; a longer one is refused before it is split
_LONG_RECORD = 4 * MAX_FIELDS // 10  # records shorter than this cannot hold MAX_FIELDS commas


def _check_uri(uri: str, column: int) -> None:
    if not uri:
        raise RowError(rejects.MISSING_URI, f"column {column} (data item URI) is empty")
    scheme, sep, rest = uri.partition("://")
    host, slash, path = rest.partition("/")
    if not sep or not scheme.isalpha() or not host or not path:
        raise RowError(rejects.BAD_URI,
                       f"column {column} is not a URI like gs://bucket/object: {uri!r}")


def _after_first_field(record: str) -> str:
    """The record from the comma that ends its first field (quoted or not)."""
    if record.startswith('"'):
        i = 1
        while True:
            i = record.index('"', i) + 1
            if i >= len(record) or record[i] != '"':
                break
            i += 1
        return record[i:]
    return record[record.index(","):] if "," in record else ""


def csv_decoder(check: CsvCheck) -> RowDecoder:
    """The row decoder of a format whose annotation fields `check` validates.

    This is the per-row hot path of a ten-million-row export, so it is written flat: a plain
    split when a line has no quote, exact-match ML-use lookup, one check call. An unassigned
    row's tail is the line after its ML-use field, so that an assigned row says its split.
    """
    exact_ml_use = ml_use.EXACT_SPELLINGS
    parse_ml_use = ml_use.parse
    long_record, unassigned = _LONG_RECORD, UNASSIGNED  # locals: this runs once a row
    checked_uri = None  # rows of one item mostly come together: check its URI once

    def decode(line: str) -> tuple[str, int, list[str], str | None]:
        nonlocal checked_uri
        record = line[:-1] if line[-1:] == "\r" else line
        if len(record) > long_record and record.count(",") > MAX_FIELDS:
            raise RowError(rejects.FIELD_COUNT, f"more than {MAX_FIELDS} columns")
        quoted = '"' in record
        fields = split_fields(record) if quoted else record.split(",")
        first = fields[0]
        try:
            use = exact_ml_use[first]
        except KeyError:
            use = parse_ml_use(first)
        uri_at = 1
        if use is None:
            if "://" not in first:
                raise RowError(rejects.UNKNOWN_ML_USE,
                               f"column 1 (ML use) is {first!r}; expected TRAIN, "
                               "VALIDATION, TEST, UNASSIGNED or empty")
            use, uri_at = UNASSIGNED, 0  # an import file without the ML-use column
        try:
            uri = fields[uri_at]
        except IndexError:
            uri = ""
        labels = check(fields, uri_at + 1)
        if uri != checked_uri:
            if uri[:5] != "gs://" or uri.find("/", 5) <= 5:
                _check_uri(uri, uri_at + 1)
            checked_uri = uri
        else:
            uri = checked_uri  # the same object: the row loop's comparison is then immediate
        if use != unassigned:
            return uri, use, labels, None
        if not uri_at:
            return uri, use, labels, "," + line
        return uri, use, labels, _after_first_field(line) if quoted else line[len(first):]

    return RowDecoder(decode, CANONICAL_FIELD)
