"""The row loop: decode each line with its format's decoder, route it, write it to its split.

It owns what every format shares: bad lines, line numbers, rejects, counting. This is the
per-row hot path of a ten-million-row export, so it is written flat and writes a block's rows
of each split together.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import length_hint

from labelexport.formats import RowDecoder
from labelexport.line_reader import BadLine, Block
from labelexport.ml_use import UNASSIGNED
from labelexport.rejects import RowError
from labelexport.row_sinks import RowSinks


def split_lines(blocks: Iterable[Block | BadLine], decoder: RowDecoder, sinks: RowSinks) -> None:
    decode, split_fields = decoder
    router, reject = sinks.router, sinks.reject
    place = router.place
    batches: list[list[str]] = [[], [], [], []]  # a block's rows per split, written together
    label_batches: list[list[str]] = [[], [], [], []]
    appends = [batch.append for batch in batches]
    extends = [labels.extend for labels in label_batches]
    unassigned = UNASSIGNED
    last_item, last_split = None, unassigned  # rows of one item mostly come together
    for block in blocks:
        if block.__class__ is BadLine:
            reject(block.line, block.reason, block.detail, block.raw)
            continue
        lines = iter(block.lines)
        for line in lines:
            try:
                item, use, labels, tail = decode(line)
                if item == last_item and (use == unassigned or use == last_split):
                    split = last_split
                else:
                    split = last_split = place(item, use)
                    last_item = item
            except RowError as error:
                if line.strip():  # a blank line is no row: skipped here, off the hot path
                    # the line's number, from how many lines are left: no count on the hot path
                    line_no = block.first_line + len(block.lines) - 1 - length_hint(lines)
                    reject(line_no, error.reason, error.detail, line.removesuffix("\r"))
                continue
            if tail is not None and split != unassigned:  # the policy assigned it: say so
                line = split_fields[split] + tail
            appends[split](line)
            extends[split](labels)
        for split, batch in enumerate(batches):
            if batch:
                sinks.writes[split]("\n".join(batch) + "\n")
                router.count(split, len(batch), label_batches[split])
                batch.clear()
                label_batches[split].clear()
