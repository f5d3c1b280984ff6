"""What defines an annotation format: one `Format` value per format, in the modules beside this.

A format knows how one line of its export is decoded and validated in each file format it has
(CSV and/or JSONL), what one of its rows looks like to type inference, and how its export is
requested. The row loop, inference, the export clients and the command line ask the registry
(`labelexport.formats`) for these; no other module names a format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

DATALABELING = "datalabeling"  # the Data Labeling Service (v1beta1 AnnotationType names)
VERTEX = "vertex"  # Vertex AI datasets (import schema names)

# One CSV row's fields and the index of the first field after the data item's URI -> its
# labels (empty for a negative example), or RowError.
CsvCheck = Callable[[list[str], int], list[str]]
# One JSON line, parsed -> (item, ML-use text, labels), or RowError.
JsonlCheck = Callable[[object], tuple[str, str, list[str]]]
# One JSON line, unparsed -> (item, ML-use text, labels), or one of typed.FALLBACK: the fast
# path of a JSONL check, for the lines it vouches for (see typed.py).
JsonlTyped = Callable[[str], tuple[str, str, list[str]]]
# What a CSV row looks like to inference: its fields after the URI, and which of those after
# the first are numbers -> whether the row has this format's shape.
CsvShape = Callable[[list[str], list[bool]], bool]
# What a parsed JSON line looks like to inference -> whether it has this format's shape.
JsonlShape = Callable[[dict], bool]


class RowDecoder(NamedTuple):
    """The per-format part of the row loop (see row_loop.py)."""

    # One line (without its LF) -> (item, ML-use split index, labels, tail), or RowError.
    # tail is None when the line is written as it came; otherwise (an unassigned row whose
    # line names its split) the line goes out as split_fields[split] + tail once assigned.
    decode: Callable[[str], tuple[str, int, list[str], str | None]]
    split_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Format:
    name: str  # as the backend names it: AnnotationType enum name, or import schema name
    family: str  # DATALABELING or VERTEX
    media: str  # "image", "video" or "text"
    csv: CsvCheck | None = None  # None: the format has no CSV form
    jsonl: JsonlCheck | None = None  # None: the format has no JSONL form
    jsonl_typed: JsonlTyped | None = None  # the JSONL check's fast path, if it has one
    csv_shape: CsvShape | None = None  # None: never inferred from a CSV row
    jsonl_shape: JsonlShape | None = None  # None: never inferred from a JSON line
    # Inferred instead of the formats named here when rows of all of them occur together
    # (two-point polylines look like boxes; longer ones beside them tell them apart).
    inferred_from_mix: frozenset[str] = frozenset()
    export_to_folder: bool = False  # the backend writes several files into a folder
    has_validation_split: bool = True  # False: its datasets have training and test items only
    aliases: tuple[str, ...] = field(default=(), compare=False)  # other names it answers to

    @property
    def file_formats(self) -> tuple[str, ...]:
        return tuple(f for f, check in (("csv", self.csv), ("jsonl", self.jsonl)) if check)
