"""A JSONL export line, whatever its format: one JSON object, copied as it came."""

from __future__ import annotations

import json

from labelexport import ml_use, rejects
from labelexport.formats.format import JsonlCheck, RowDecoder
from labelexport.rejects import RowError


def jsonl_decoder(check: JsonlCheck) -> RowDecoder:
    """The row decoder of a format whose parsed lines `check` validates."""
    loads = json.loads
    parse_ml_use = ml_use.parse

    def decode(line: str) -> tuple[str, int, list[str], None]:
        try:
            example = loads(line)
        except ValueError as exc:
            raise RowError(rejects.INVALID_JSON, f"not valid JSON: {exc}") from None
        except RecursionError:
            raise RowError(rejects.INVALID_JSON, "not valid JSON: nested too deeply") from None
        item, use_text, labels = check(example)
        use = parse_ml_use(use_text)
        if use is None:
            raise RowError(rejects.UNKNOWN_ML_USE, f"ML use {use_text!r}; expected "
                           "TRAIN, VALIDATION, TEST, UNASSIGNED or empty")
        return item, use, labels, None  # a JSON line's split is the file it is written to

    return RowDecoder(decode)
