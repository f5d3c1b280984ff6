"""Infers an export's format and annotation type from its first rows, when nobody says them."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable

from labelexport import csv_fields, ml_use
from labelexport import proto_json as pj
from labelexport.annotation_types import ANNOTATION_TYPES
from labelexport.errors import SourceError
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


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _media(uri: str) -> str:
    path = uri.lower().split("?", 1)[0]
    if path.endswith(_VIDEO_EXTENSIONS):
        return "video"
    if path.endswith(_TEXT_EXTENSIONS):
        return "text"
    return "image"


def _point_count(rest: list[str]) -> int | None:
    """Points in `x,y,,` groups after the label, or None if the row is not in that form."""
    points = rest + ["", ""] if len(rest) % 4 == 2 else rest
    if not points or len(points) % 4:
        return None
    for p in range(0, len(points), 4):
        x, y, gap1, gap2 = points[p:p + 4]
        if gap1 or gap2 or not _is_number(x) or not _is_number(y):
            return None
    return len(points) // 4


def _csv_row_shape(line: str) -> str | None:
    """The annotation type one CSV row looks like, or None for a row that tells nothing."""
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
    numeric = [bool(f) and _is_number(f) for f in rest[1:]]
    if media == "text":
        return "TEXT_CLASSIFICATION_ANNOTATION"
    if media == "video":
        if len(rest) == 3 and all(numeric):
            return "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION"
        if len(rest) == 10 and numeric[0]:
            return "VIDEO_OBJECT_DETECTION_ANNOTATION"
        if len(rest) == 11 and numeric[1]:
            return "VIDEO_OBJECT_TRACKING_ANNOTATION"
        return None
    if not any(numeric):
        return "IMAGE_CLASSIFICATION_ANNOTATION"
    points = _point_count(rest[1:])
    if points == 2:
        return "IMAGE_BOUNDING_BOX_ANNOTATION"
    if points is not None and points >= 3:
        return "IMAGE_BOUNDING_POLY_ANNOTATION"
    if len(rest) in (5, 9) and all(numeric[k] for k in (0, 1, -2, -1)):
        return "IMAGE_BOUNDING_BOX_ANNOTATION"  # all four corners written out
    return None


def _jsonl_row_shape(line: str) -> str | None:
    try:
        example = json.loads(line)
    except (ValueError, RecursionError):
        return None
    for annotation in pj.get(example, "annotations", []) or []:
        value = pj.get(annotation, "annotationValue")
        if not isinstance(value, dict) or len(value) != 1:
            continue
        key, body = next(iter(value.items()))
        camel = key if "_" not in key else "".join(
            w if i == 0 else w.capitalize() for i, w in enumerate(key.split("_")))
        if camel == "imageBoundingPolyAnnotation":
            vertices = pj.get(pj.get(body, "normalizedBoundingPoly"), "normalizedVertices")
            return "IMAGE_BOUNDING_BOX_ANNOTATION" if isinstance(vertices, list) and \
                len(vertices) == 2 else "IMAGE_BOUNDING_POLY_ANNOTATION"
        if camel == "videoObjectTrackingAnnotation":
            frames = pj.get(body, "objectTrackingFrames")
            single = isinstance(frames, list) and len(frames) == 1
            return "VIDEO_OBJECT_DETECTION_ANNOTATION" if single \
                else "VIDEO_OBJECT_TRACKING_ANNOTATION"
        for name, kind in ANNOTATION_TYPES.items():
            if kind.value_keys[0] == camel:
                return name
    return None


def infer_type(lines: Iterable[str], fmt: str) -> str:
    """The annotation type most sample rows look like; SourceError if none looks like any."""
    shape = _csv_row_shape if fmt == "csv" else _jsonl_row_shape
    votes = Counter(s for s in map(shape, lines) if s is not None)
    if not votes:
        raise SourceError(f"cannot infer the annotation type: no row among the first ones looks "
                          f"like a Data Labeling {fmt.upper()} export row (pass the type)")
    boxes, polys = votes["IMAGE_BOUNDING_BOX_ANNOTATION"], votes["IMAGE_BOUNDING_POLY_ANNOTATION"]
    if boxes and polys:
        return "IMAGE_POLYLINE_ANNOTATION"  # two-point rows beside longer ones: polylines
    return votes.most_common(1)[0][0]
