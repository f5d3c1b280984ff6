"""The JSONL row loop: parse and validate each example, route it, copy its line as it came."""

from __future__ import annotations

import json
from collections.abc import Iterable

from labelexport import ml_use, rejects
from labelexport.annotation_types import ANNOTATION_TYPES
from labelexport.jsonl_validators import validate_example
from labelexport.line_reader import BadLine, Block
from labelexport.rejects import RowError
from labelexport.row_sinks import RowSinks


def split_jsonl(blocks: Iterable[Block | BadLine], annotation_type: str,
                sinks: RowSinks) -> None:
    kind = ANNOTATION_TYPES[annotation_type]
    writes, place, count, reject = (sinks.writes, sinks.router.place, sinks.router.count,
                                    sinks.reject)
    for block in blocks:
        if block.__class__ is BadLine:
            reject(block.line, block.reason, block.detail, block.raw)
            continue
        line_no = block.first_line - 1
        for line in block.lines:
            line_no += 1
            if not line.strip():
                continue
            try:
                try:
                    example = json.loads(line)
                except ValueError as exc:
                    raise RowError(rejects.INVALID_JSON, f"not valid JSON: {exc}") from None
                except RecursionError:
                    raise RowError(rejects.INVALID_JSON, "not valid JSON: nested too deeply") \
                        from None
                item, use_text, labels = validate_example(example, kind)
                use = ml_use.parse(use_text)
                if use is None:
                    raise RowError(rejects.UNKNOWN_ML_USE, f"ML use {use_text!r}; expected "
                                   "TRAIN, VALIDATION, TEST, UNASSIGNED or empty")
                split = place(item, use)
            except RowError as error:
                reject(line_no, error.reason, error.detail, line.rstrip("\r"))
                continue
            writes[split](line + "\n")
            count(split, 1, labels)
