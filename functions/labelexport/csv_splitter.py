"""The CSV row loop: validate each row, route it, copy it byte for byte to its split.

This is the per-row hot path of a ten-million-row export, so it is written flat: a plain split
when a line has no quote, exact-match ML-use lookup, one validator call and one router call.
"""

from __future__ import annotations

from collections.abc import Iterable

from labelexport import ml_use, rejects
from labelexport.csv_fields import split_fields
from labelexport.csv_validators import CSV_VALIDATORS
from labelexport.line_reader import BadLine, Block
from labelexport.ml_use import CANONICAL_FIELD, UNASSIGNED
from labelexport.rejects import RowError
from labelexport.row_sinks import RowSinks

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


def split_csv(blocks: Iterable[Block | BadLine], annotation_type: str, sinks: RowSinks) -> None:
    validate = CSV_VALIDATORS[annotation_type]
    exact_ml_use = ml_use.EXACT_SPELLINGS
    router, reject = sinks.router, sinks.reject
    place = router.place
    batches: list[list[str]] = [[], [], [], []]  # a block's rows per split, written together
    label_batches: list[list[str]] = [[], [], [], []]
    last_uri, last_split = None, UNASSIGNED  # rows of one item mostly come together
    for block in blocks:
        if block.__class__ is BadLine:
            reject(block.line, block.reason, block.detail, block.raw)
            continue
        line_no = block.first_line - 1
        for line in block.lines:
            line_no += 1
            record = line[:-1] if line[-1:] == "\r" else line
            quoted = '"' in record
            try:
                if len(record) > _LONG_RECORD and record.count(",") > MAX_FIELDS:
                    raise RowError(rejects.FIELD_COUNT, f"more than {MAX_FIELDS} columns")
                fields = split_fields(record) if quoted else record.split(",")
                first = fields[0]
                use = exact_ml_use.get(first)
                if use is None:
                    use = ml_use.parse(first)
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
                labels = validate(fields, uri_at + 1)
                if uri == last_uri and (use == UNASSIGNED or use == last_split):
                    split = last_split  # the previous row's item: its URI was checked then
                else:
                    if not uri.startswith("gs://") or uri.find("/", 5) <= 5:
                        _check_uri(uri, uri_at + 1)
                    split = last_split = place(uri, use)
                    last_uri = uri
            except RowError as error:
                if record.strip():  # a blank line is no row: skipped here, off the hot path
                    reject(line_no, error.reason, error.detail, record)
                continue
            if use == UNASSIGNED and split != UNASSIGNED:  # the policy assigned it: say so
                if not uri_at:
                    line = CANONICAL_FIELD[split] + "," + line
                elif quoted:
                    line = CANONICAL_FIELD[split] + _after_first_field(line)
                else:
                    line = CANONICAL_FIELD[split] + line[len(first):]
            batches[split].append(line)
            label_batches[split] += labels
        for split, batch in enumerate(batches):
            if batch:
                sinks.writes[split]("\n".join(batch) + "\n")
                router.count(split, len(batch), label_batches[split])
                batch.clear()
                label_batches[split].clear()
