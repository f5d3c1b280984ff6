"""A JSONL export line, whatever its format: one JSON object, copied as it came."""

from __future__ import annotations

import json

from labelexport import ml_use, rejects
from labelexport.formats.format import JsonlCheck, JsonlTyped, RowDecoder
from labelexport.formats.typed import FALLBACK
from labelexport.rejects import RowError


def _checked(line: str, check: JsonlCheck) -> tuple[str, str, list[str]]:
    try:
        parsed = json.loads(line)
    except ValueError as exc:
        raise RowError(rejects.INVALID_JSON, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise RowError(rejects.INVALID_JSON, "not valid JSON: nested too deeply") from None
    return check(parsed)


def jsonl_decoder(check: JsonlCheck, typed: JsonlTyped | None = None) -> RowDecoder:
    """The row decoder of a format whose parsed lines `check` validates; lines its `typed`
    fast path vouches for skip the check."""
    parse_ml_use = ml_use.parse

    def decode(line: str) -> tuple[str, int, list[str], None]:
        if typed is None:
            item, use_text, labels = _checked(line, check)
        else:
            try:
                item, use_text, labels = typed(line)
            except FALLBACK:
                item, use_text, labels = _checked(line, check)
        use = parse_ml_use(use_text)
        if use is None:
            raise RowError(rejects.UNKNOWN_ML_USE, f"ML use {use_text!r}; expected "
                           "TRAIN, VALIDATION, TEST, UNASSIGNED or empty")
        return item, use, labels, None  # a JSON line's split is the file it is written to

    return RowDecoder(decode)
