"""The Data Labeling JSONL line: one v1beta1 `Example` in proto3 JSON, and checks of its
annotation values, the building blocks of the Data Labeling formats' JSONL forms."""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable

from labelexport import proto_json as pj
from labelexport import rejects
from labelexport.formats import typed
from labelexport.formats.format import JsonlCheck, JsonlShape
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


def classification(value: dict, where: str, example: dict) -> list[str]:
    return [pj.display_name(value, where)]


def poly(minimum: int, exact: int | None = None, box: bool = False) -> ValueValidator:
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


def segmentation(value: dict, where: str, example: dict) -> list[str]:
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


def video_segment(value: dict, where: str, example: dict) -> list[str]:
    label = pj.display_name(value, where)
    segment = _segment(value, where, required=False)
    if segment is not None and not 0 <= segment[0] < segment[1]:
        raise RowError(rejects.BAD_TIME_SEGMENT, f"{where}.timeSegment start {segment[0]}s must "
                       f"be >= 0 and before end {segment[1]}s")
    return [label]


def video_tracking(value: dict, where: str, example: dict) -> list[str]:
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


def text_entity(value: dict, where: str, example: dict) -> list[str]:
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


def example_check(name: str, media: str, value_keys: tuple[str, ...],
                  check: ValueValidator) -> JsonlCheck:
    """The JSONL check of format `name`, whose Examples carry `media` and one of `value_keys` (the
    AnnotationValue oneof fields, camelCase) in each annotation, each checked by `check`."""
    expected = _PAYLOADS[media]
    accepted = frozenset(value_keys) | {pj.snake(k) for k in value_keys}
    kinds = " or ".join(value_keys)

    def validate(example: object) -> tuple[str, str, list[str]]:
        if not isinstance(example, dict):
            raise RowError(rejects.INVALID_JSON, "the line is JSON but not an object")
        if pj.get(example, expected) is None:
            present = [p for p in _PAYLOADS.values() if pj.get(example, p) is not None]
            found = f"it has {present[0]}" if present else "it has none"
            raise RowError(rejects.WRONG_PAYLOAD, f"{name} examples carry {expected}; {found}")
        item = item_of(example, media)
        annotations = pj.get(example, "annotations", [])
        if not isinstance(annotations, list):
            raise RowError(rejects.MISSING_FIELD, "annotations is not a list")
        labels: list[str] = []
        for k, annotation in enumerate(annotations):
            where = f"annotations[{k}].annotationValue"
            value = pj.get(annotation, "annotationValue")
            if not isinstance(value, dict) or len(value) != 1:
                raise RowError(rejects.MISSING_FIELD, f"{where} must hold exactly one annotation")
            key, body = next(iter(value.items()))
            if key not in accepted or not isinstance(body, dict):
                raise RowError(rejects.WRONG_ANNOTATION_TYPE,
                               f"{where}.{key} does not belong to {name} "
                               f"(expected {kinds})")
            labels.extend(check(body, f"{where}.{key}", example))
        return item, ml_use_of(example), labels

    return validate


def _first_value(example: dict) -> tuple[str, dict] | None:
    """The first annotation's value as (camelCase oneof field, body)."""
    annotations = pj.get(example, "annotations", [])
    for annotation in annotations if isinstance(annotations, list) else []:
        value = pj.get(annotation, "annotationValue")
        if isinstance(value, dict) and len(value) == 1:
            key, body = next(iter(value.items()))
            if isinstance(body, dict):
                return pj.camel(key), body
    return None


def value_shape(key: str, body_test: Callable[[dict], bool] | None = None) -> JsonlShape:
    """Inference's shape of a format: the first annotation's value is `key` (camelCase) and,
    for formats that share a value field, its body passes `body_test`."""
    def shape(example: dict) -> bool:
        value = _first_value(example)
        if value is None or value[0] != key:
            return False
        return body_test is None or body_test(value[1])
    return shape


# --------------------------------------------------------------------------- typed fast path

_TYPED_PAYLOADS: dict[str, type] = {
    media: typed.struct(f"{media.capitalize()}Payload", [
        (_URI_FIELDS[media], str, ""), ("textContent", str, "")])
    for media in _PAYLOADS}
Spec = typed.struct("Spec", [("displayName", typed.Label)])


def typed_example(name: str, media: str, value_fields: list[tuple[str, type]],
                  value_labels: Callable[[object], list[str]]) -> typed.TypedDecode:
    """The fast path of `example_check(name, media, ...)`: Examples whose annotations each hold
    exactly one of `value_fields` ((oneof field, struct of its value)), read by
    `value_labels`, which raises typed.NotTyped for what the struct cannot check."""
    if len(value_fields) == 1:  # the value's one field is required: absent or null refuse
        value = typed.struct(f"{name}Value", value_fields, forbid_unknown_fields=True)
    else:  # a null is a key too: UNSET, not None, when absent
        value = typed.struct(f"{name}Value", [
            (key, typed.optional(kind), typed.UNSET) for key, kind in value_fields],
            forbid_unknown_fields=True)
    annotation = typed.struct(f"{name}Annotation", [("annotationValue", value)])
    example = typed.struct(f"{name}Example", [
        (_PAYLOADS[media], _TYPED_PAYLOADS[media]),
        ("name", str, ""),
        ("annotations", list[annotation], []),
        ("dataItemResourceLabels", typed.optional(dict[str, str]), typed.UNSET),
        ("mlUse", str, ""),
    ])
    payload_field, uri_field = _PAYLOADS[media], _URI_FIELDS[media]
    keys = [key for key, _ in value_fields]
    single = keys[0] if len(keys) == 1 else None

    def body(annotation_value) -> object:
        if single is not None:
            return getattr(annotation_value, single)
        bodies = [b for b in (getattr(annotation_value, k) for k in keys)
                  if b is not typed.UNSET]
        if len(bodies) != 1:
            raise typed.NotTyped("not exactly one annotation value")
        return bodies[0]

    def extract(line) -> tuple[str, str, list[str]]:
        payload = getattr(line, payload_field)
        item = line.name or getattr(payload, uri_field) or payload.textContent
        if not item:
            raise typed.NotTyped("no item")
        labels: list[str] = []
        for each in line.annotations:
            labels += value_labels(body(each.annotationValue))
        resource_labels = line.dataItemResourceLabels
        use = resource_labels.get(ML_USE_LABEL) if resource_labels is not typed.UNSET else None
        return item, line.mlUse if use is None else use, labels

    return typed.typed_decoder(example, extract)
