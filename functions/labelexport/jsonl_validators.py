"""Validation of one JSONL example (a Data Labeling Example in proto3 JSON), per annotation type."""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable

from labelexport import proto_json as pj
from labelexport import rejects
from labelexport.annotation_types import AnnotationType
from labelexport.rejects import RowError

ML_USE_LABEL = "aiplatform.googleapis.com/ml_use"
_PAYLOADS = {"image": "imagePayload", "video": "videoPayload", "text": "textPayload"}
_URI_FIELDS = {"image": "imageUri", "video": "videoUri", "text": "textUri"}
_COLOR_KEY = re.compile(r"rgb\((\d{1,3}),(\d{1,3}),(\d{1,3})\)")

ValueValidator = Callable[[dict, str, dict], list[str]]


# Where a shape keeps its vertices: normalized ones (floats in [0, 1]) or pixel ones (integers
# >= 0; their upper bound is the image's size, which an export does not give).
_VERTEX_LISTS = {"normalizedBoundingPoly": "normalizedVertices", "boundingPoly": "vertices",
                 "normalizedPolyline": "normalizedVertices", "polyline": "vertices"}
_POLY_FIELDS = ("normalizedBoundingPoly", "boundingPoly")
_POLYLINE_FIELDS = ("normalizedPolyline", "polyline")


def _vertices(container: dict, fields: tuple[str, ...], where: str) -> list[tuple[float, float]]:
    """The vertices of the first of `fields` that `container` has (they are a oneof)."""
    field = next((f for f in fields if pj.get(container, f) is not None), None)
    if field is None:
        raise RowError(rejects.MISSING_FIELD, f"{where} has no {' or '.join(fields)}")
    poly = pj.get_object(container, field, where)
    key = _VERTEX_LISTS[field]
    points = pj.get(poly, key, [])  # proto3 JSON leaves an empty list out
    if not isinstance(points, list):
        raise RowError(rejects.MISSING_FIELD, f"{where}.{field}.{key} is not a list")
    pixels = key == "vertices"
    result = []
    for k, vertex in enumerate(points):
        at = f"{where}.{field}.{key}[{k}]"
        if not isinstance(vertex, dict):
            raise RowError(rejects.MISSING_FIELD, f"{at} is not an object")
        if pixels:
            x, y = pj.integer(vertex, "x", at), pj.integer(vertex, "y", at)  # absent means 0
        else:
            x, y = pj.number(vertex, "x", at), pj.number(vertex, "y", at)
        for axis, value in (("x", x), ("y", y)):
            if pixels and value < 0:
                raise RowError(rejects.COORDINATE_OUT_OF_RANGE,
                               f"{at}.{axis} is {value}, a pixel coordinate below 0")
            if not pixels and not 0.0 <= value <= 1.0:
                raise RowError(rejects.COORDINATE_OUT_OF_RANGE, f"{at}.{axis} is {value}, "
                               "outside [0, 1]")
        result.append((x, y))
    return result


def _check_box(points: list[tuple[float, float]], where: str) -> None:
    """Two vertices (top-left, bottom-right) or four (clockwise from top-left)."""
    if len(points) not in (2, 4):
        raise RowError(rejects.TOO_FEW_VERTICES,
                       f"{where}: a box has 2 or 4 vertices, found {len(points)}")
    (x1, y1), (x2, y2) = points[0], points[1 if len(points) == 2 else 2]
    if not (x1 < x2 and y1 < y2):
        raise RowError(rejects.INVERTED_BOX, f"{where}: top-left ({x1}, {y1}) is not above and "
                       f"left of bottom-right ({x2}, {y2})")


def _classification(value: dict, where: str, example: dict) -> list[str]:
    return [pj.display_name(value, where)]


def _poly(minimum: int, exact: int | None = None, box: bool = False) -> ValueValidator:
    def validate(value: dict, where: str, example: dict) -> list[str]:
        label = pj.display_name(value, where)
        polyline = any(pj.get(value, f) is not None for f in _POLYLINE_FIELDS)
        points = _vertices(value, _POLYLINE_FIELDS if polyline else _POLY_FIELDS, where)
        if box:
            _check_box(points, where)
        elif len(points) < minimum or (exact is not None and len(points) != exact):
            need = f"exactly {exact}" if exact is not None else f"at least {minimum}"
            raise RowError(rejects.TOO_FEW_VERTICES,
                           f"{where}: {len(points)} vertices; {need} are needed")
        return [label]

    return validate


def _color_names(colors: object, where: str) -> list[str]:
    if isinstance(colors, dict):  # proto3 JSON of a map<string, AnnotationSpec>
        pairs = list(colors.items())
    elif isinstance(colors, list):  # the guide's [{key, value}] rendering of the same map
        pairs = [(pj.get(c, "key"), pj.get(c, "value")) for c in colors]
    else:
        raise RowError(rejects.MISSING_FIELD, f"{where}.annotationColors is missing")
    names = []
    for key, spec in pairs:
        match = _COLOR_KEY.fullmatch(key.replace(" ", "")) if isinstance(key, str) else None
        if match is None or any(int(c) > 255 for c in match.groups()):
            raise RowError(rejects.BAD_COLOR_KEY,
                           f"{where}.annotationColors key {key!r} is not rgb(r,g,b) with 0-255")
        name = pj.get(spec, "displayName")
        if not isinstance(name, str) or not name:
            raise RowError(rejects.MISSING_LABEL,
                           f"{where}.annotationColors[{key!r}] has no displayName")
        names.append(name)
    return names


def _segmentation(value: dict, where: str, example: dict) -> list[str]:
    names = _color_names(pj.get(value, "annotationColors"), where)
    mask = pj.get(value, "imageBytes")
    if not isinstance(mask, str) or not mask:
        raise RowError(rejects.MISSING_FIELD, f"{where}.imageBytes (the mask) is missing")
    try:
        binascii.a2b_base64(mask, strict_mode=True)
    except binascii.Error as exc:
        raise RowError(rejects.BAD_BASE64, f"{where}.imageBytes is not base64: {exc}") from None
    return names


def _segment(value: dict, where: str, required: bool) -> tuple[float, float] | None:
    segment = pj.get(value, "timeSegment")
    if segment is None and not required:
        return None
    if not isinstance(segment, dict):
        raise RowError(rejects.MISSING_FIELD, f"{where}.timeSegment is missing")
    at = f"{where}.timeSegment"
    start = pj.duration(segment, "startTimeOffset", at)
    end = pj.duration(segment, "endTimeOffset", at)
    return start, end


def _video_segment(value: dict, where: str, example: dict) -> list[str]:
    label = pj.display_name(value, where)
    segment = _segment(value, where, required=False)
    if segment is not None and not 0 <= segment[0] < segment[1]:
        raise RowError(rejects.BAD_TIME_SEGMENT, f"{where}.timeSegment start {segment[0]}s must "
                       f"be >= 0 and before end {segment[1]}s")
    return [label]


def _video_tracking(value: dict, where: str, example: dict) -> list[str]:
    label = pj.display_name(value, where)
    segment = _segment(value, where, required=False)
    if segment is not None and not 0 <= segment[0] <= segment[1]:
        raise RowError(rejects.BAD_TIME_SEGMENT, f"{where}.timeSegment start {segment[0]}s is "
                       f"after end {segment[1]}s")
    frames = pj.get_list(value, "objectTrackingFrames", where)
    if not frames:
        raise RowError(rejects.MISSING_FIELD, f"{where}.objectTrackingFrames is empty")
    for k, frame in enumerate(frames):
        at = f"{where}.objectTrackingFrames[{k}]"
        _check_box(_vertices(frame, _POLY_FIELDS, at), at)
        if pj.duration(frame, "timeOffset", at) < 0:
            raise RowError(rejects.BAD_TIME_SEGMENT, f"{at}.timeOffset is negative")
    return [label]


def _text_entity(value: dict, where: str, example: dict) -> list[str]:
    label = pj.display_name(value, where)
    if pj.get(value, "sequentialSegment") is not None:  # the published proto's name for it
        segment = pj.get_object(value, "sequentialSegment", where)
        at = f"{where}.sequentialSegment"
        start, end = pj.integer(segment, "start", at), pj.integer(segment, "end", at)
    else:  # the export guide's
        segment = pj.get_object(value, "textSegment", where)
        at = f"{where}.textSegment"
        start, end = pj.integer(segment, "startOffset", at), pj.integer(segment, "endOffset", at)
    content = pj.get(pj.get(example, "textPayload"), "textContent")
    limit = len(content) if isinstance(content, str) else None
    if not (0 <= start < end) or (limit is not None and end > limit):
        within = f" within the text's {limit} characters" if limit is not None else ""
        raise RowError(rejects.OFFSET_OUT_OF_RANGE,
                       f"{at} [{start:g}, {end:g}) must be a non-empty range{within}")
    return [label]


VALUE_VALIDATORS: dict[str, ValueValidator] = {
    "IMAGE_CLASSIFICATION_ANNOTATION": _classification,
    "IMAGE_BOUNDING_BOX_ANNOTATION": _poly(2, box=True),
    "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION": _poly(4, exact=4),
    "IMAGE_BOUNDING_POLY_ANNOTATION": _poly(3),
    "IMAGE_POLYLINE_ANNOTATION": _poly(2),
    "IMAGE_SEGMENTATION_ANNOTATION": _segmentation,
    "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION": _video_segment,
    "VIDEO_EVENT_ANNOTATION": _video_segment,
    "VIDEO_OBJECT_DETECTION_ANNOTATION": _video_tracking,
    "VIDEO_OBJECT_TRACKING_ANNOTATION": _video_tracking,
    "TEXT_CLASSIFICATION_ANNOTATION": _classification,
    "TEXT_ENTITY_EXTRACTION_ANNOTATION": _text_entity,
}


def item_of(example: dict, media: str) -> str:
    """What identifies the example's data item: its name, else its payload's URI or text."""
    name = pj.get(example, "name")
    if isinstance(name, str) and name:
        return name
    payload = pj.get(example, _PAYLOADS[media])
    for field in (_URI_FIELDS[media], "textContent"):
        value = pj.get(payload, field)
        if isinstance(value, str) and value:
            return value
    raise RowError(rejects.MISSING_FIELD, f"the example has no name and no {_PAYLOADS[media]}."
                   f"{_URI_FIELDS[media]}")


def ml_use_of(example: dict) -> str:
    """The example's ML use: Vertex AI's resource label, or an mlUse field; '' when absent."""
    labels = pj.get(example, "dataItemResourceLabels")
    value = labels.get(ML_USE_LABEL) if isinstance(labels, dict) else None
    if value is None:
        value = pj.get(example, "mlUse", "")
    return value if isinstance(value, str) else repr(value)


def validate_example(example: object, kind: AnnotationType) -> tuple[str, str, list[str]]:
    """(item, ML use, labels) of one example; RowError names what is wrong."""
    if not isinstance(example, dict):
        raise RowError(rejects.INVALID_JSON, "the line is JSON but not an object")
    expected = _PAYLOADS[kind.media]
    if pj.get(example, expected) is None:
        present = [p for p in _PAYLOADS.values() if pj.get(example, p) is not None]
        found = f"it has {present[0]}" if present else "it has none"
        raise RowError(rejects.WRONG_PAYLOAD,
                       f"{kind.name} examples carry {expected}; {found}")
    item = item_of(example, kind.media)
    annotations = pj.get(example, "annotations", [])
    if not isinstance(annotations, list):
        raise RowError(rejects.MISSING_FIELD, "annotations is not a list")
    check = VALUE_VALIDATORS[kind.name]
    labels: list[str] = []
    for k, annotation in enumerate(annotations):
        where = f"annotations[{k}].annotationValue"
        value = pj.get(annotation, "annotationValue")
        if not isinstance(value, dict) or len(value) != 1:
            raise RowError(rejects.MISSING_FIELD, f"{where} must hold exactly one annotation")
        key, body = next(iter(value.items()))
        if not any(key in (name, pj.snake(name)) for name in kind.value_keys) \
                or not isinstance(body, dict):
            raise RowError(rejects.WRONG_ANNOTATION_TYPE,
                           f"{where}.{key} does not belong to {kind.name} "
                           f"(expected {' or '.join(kind.value_keys)})")
        labels.extend(check(body, f"{where}.{key}", example))
    return item, ml_use_of(example), labels
