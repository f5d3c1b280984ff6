"""The registry of annotation formats: every format the pipeline reads, one definition each.

    format.py        what a format definition holds (`Format`)
    dls_image.py     Data Labeling Service formats, by media
    dls_video.py
    dls_text.py
    vertex_image.py  Vertex AI formats, by media
    vertex_text.py
    vertex_video.py
    csv_rows.py      a CSV line of any format: ML use, URI, then the format's fields
    jsonl_rows.py    a JSONL line of any format
    csv_checks.py    building blocks: CSV field checks
    dls_example.py   building blocks: the Data Labeling JSONL `Example`
    vertex_line.py   building blocks: the Vertex AI JSONL line
    typed.py         building blocks: the JSONL fast path, typed lines decoded by msgspec

Adding a format is adding one `Format` to a media module and its tests.
"""

from __future__ import annotations

from labelexport.formats import (
    dls_image,
    dls_text,
    dls_video,
    vertex_image,
    vertex_text,
    vertex_video,
)
from labelexport.formats.csv_rows import csv_decoder
from labelexport.formats.format import DATALABELING, VERTEX, Format, RowDecoder
from labelexport.formats.jsonl_rows import jsonl_decoder

__all__ = ["DATALABELING", "VERTEX", "FORMATS", "NAMES", "Format", "RowDecoder", "decoder",
           "find", "lookup"]

# Inference prefers the earlier of two formats whose rows look alike.
FORMATS: tuple[Format, ...] = (*dls_image.FORMATS, *dls_video.FORMATS, *dls_text.FORMATS,
                               *vertex_image.FORMATS, *vertex_video.FORMATS, *vertex_text.FORMATS)
NAMES: tuple[str, ...] = tuple(f.name for f in FORMATS)

_BY_NAME: dict[str, Format] = {
    name.upper(): f for f in FORMATS for name in (f.name, *f.aliases)}


def find(name: object) -> Format | None:
    """The format named `name` (any case, or one of its aliases); None if there is none."""
    return _BY_NAME.get(name.strip().upper()) if isinstance(name, str) else None


def lookup(name: str) -> Format:
    """The format named `name`; ValueError naming the accepted ones otherwise."""
    found = find(name)
    if found is None:
        raise ValueError(f"unknown annotation type {name!r}; expected one of {', '.join(NAMES)}")
    return found


def decoder(fmt: Format, file_format: str) -> RowDecoder:
    """How the row loop reads `fmt`'s lines in `file_format` ("csv" or "jsonl")."""
    if file_format == "csv" and fmt.csv is not None:
        return csv_decoder(fmt.csv)
    if file_format == "jsonl" and fmt.jsonl is not None:
        return jsonl_decoder(fmt.jsonl, fmt.jsonl_typed)
    raise ValueError(f"{fmt.name} has no {file_format.upper()} form")
