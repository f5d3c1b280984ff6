"""The Vertex AI JSONL line: one data item in the import format of its schema, and the checks
its annotations share; the building blocks of the Vertex formats.

A line holds its data item (`imageGcsUri`, `videoGcsUri`, or `textContent` / `textGcsUri`), the
annotations of its schema, `dataItemResourceLabels` (the ML use) and anything else, which passes
through. Keys may be camelCase or snake_case; numbers may be JSON numbers or numeric strings.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable

from labelexport import proto_json as pj
from labelexport import rejects
from labelexport.formats import typed
from labelexport.formats.format import VERTEX, Format, JsonlCheck, JsonlShape
from labelexport.rejects import RowError

ML_USE_LABEL = "aiplatform.googleapis.com/ml_use"
SCHEMA_URI = "gs://google-cloud-aiplatform/schema/dataset/ioformat/{}_io_format_1.0.0.yaml"
_DATA_KEYS = {"image": ("imageGcsUri",), "video": ("videoGcsUri",),
              "text": ("textContent", "textGcsUri")}
# Every annotation key of every Vertex schema: a line of one schema holding another's is refused.
ANNOTATION_KEYS = frozenset({
    "classificationAnnotation", "classificationAnnotations", "boundingBoxAnnotations",
    "segmentationAnnotation", "maskAnnotation", "polygonAnnotation", "polylineAnnotation",
    "textSegmentAnnotations", "sentimentAnnotation", "timeSegments", "timeSegmentAnnotations",
    "temporalBoundingBoxAnnotations",
})
_DURATION = re.compile(r"\d+(\.\d{1,9})?s")
INFINITY = math.inf

# The annotations of one line -> its labels; gets the line and its inline text (or None).
AnnotationCheck = Callable[[dict, "str | None"], list[str]]


def field(obj: dict, name: str) -> object:
    """obj[name] under its camelCase or snake_case spelling (None when absent)."""
    return pj.get(obj, name)


def _text_item(content: str) -> str:
    """Inline text is identified by its content, hashed: two lines of the same text are the
    same item, and the identity stays short."""
    digest = hashlib.blake2b(content.encode("utf-8", "surrogatepass"), digest_size=16)
    return "textContent:" + digest.hexdigest()


def check_gcs_uri(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise RowError(rejects.MISSING_URI, f"{where} is empty or not a string")
    bucket, _, name = value[5:].partition("/")
    if not value.startswith("gs://") or not bucket or not name:
        raise RowError(rejects.BAD_URI, f"{where} is not a gs://bucket/object URI: "
                       f"{value[:200]!r}")
    return value


def data_item(line: dict, media: str) -> tuple[str, str | None]:
    """(item, inline text or None) of a line whose data item is `media`."""
    keys = _DATA_KEYS[media]
    present = [k for k in keys if field(line, k) is not None]
    if len(present) > 1:
        raise RowError(rejects.CONFLICTING_FIELDS,
                       f"the line has both {' and '.join(present)}; a data item has one")
    if not present:
        other = [k for m, ks in _DATA_KEYS.items() if m != media for k in ks
                 if field(line, k) is not None]
        if other:
            raise RowError(rejects.WRONG_PAYLOAD,
                           f"{media} lines carry {' or '.join(keys)}; this one has {other[0]}")
        raise RowError(rejects.MISSING_FIELD, f"{' or '.join(keys)} is missing")
    key = present[0]
    value = field(line, key)
    if key == "textContent":
        if not isinstance(value, str):
            raise RowError(rejects.MISSING_FIELD, "textContent is not a string")
        return _text_item(value), value
    return check_gcs_uri(value, key), None


def ml_use_of(line: dict) -> str:
    """dataItemResourceLabels["aiplatform.googleapis.com/ml_use"] (or a bare "ml_use" key
    there); '' when absent."""
    labels = field(line, "dataItemResourceLabels")
    if labels is None:
        return ""
    if not isinstance(labels, dict):
        raise RowError(rejects.MISSING_FIELD, "dataItemResourceLabels is not an object")
    value = labels.get(ML_USE_LABEL)
    if value is None:
        value = labels.get("ml_use", "")
    if not isinstance(value, str):
        raise RowError(rejects.UNKNOWN_ML_USE, f"dataItemResourceLabels ML use is not a "
                       f"string: {value!r}"[:300])
    return value


def number(obj: dict, name: str, where: str, default: float | None = None) -> float:
    """A number: a JSON number or a numeric string, finite; absent means `default` (proto3
    JSON leaves zeros out), or is an error without one."""
    if field(obj, name) is None and default is None:
        raise RowError(rejects.MISSING_FIELD, f"{where}.{name} is missing")
    return pj.number(obj, name, where, 0.0 if default is None else default)


def unit(obj: dict, name: str, where: str) -> float:
    """A normalized coordinate: a number in [0, 1], absent meaning 0 as in proto3 JSON."""
    value = number(obj, name, where, default=0.0)
    if not 0.0 <= value <= 1.0:
        raise RowError(rejects.COORDINATE_OUT_OF_RANGE, f"{where}.{name} is {value:g}, "
                       "outside [0, 1]")
    return value


def integer(obj: dict, name: str, where: str, default: int | None = None) -> int:
    """An int64: a whole JSON number or a string of one (as proto3 JSON writes int64); absent
    means `default`, or is an error without one."""
    if field(obj, name) is None:
        if default is None:
            raise RowError(rejects.MISSING_FIELD, f"{where}.{name} is missing")
        return default
    return pj.integer(obj, name, where, bits=64)


def duration(obj: dict, name: str, where: str, default: float,
             infinity: bool = False) -> float:
    """A time offset: seconds with "s" appended ("1.5s"); "Infinity" where the schema allows
    it (the end of a video); absent means `default`."""
    value = field(obj, name)
    if value is None:
        return default
    if isinstance(value, str):
        if _DURATION.fullmatch(value):
            return float(value[:-1])
        if infinity and value == "Infinity":
            return INFINITY
    allowed = ' or "Infinity"' if infinity else ""
    raise RowError(rejects.BAD_NUMBER, f'{where}.{name} is not a duration like "1.5s"'
                   f"{allowed}: {value!r}"[:300])


def display_name(annotation: dict, where: str) -> str:
    name = field(annotation, "displayName")
    if not isinstance(name, str) or not name:
        raise RowError(rejects.MISSING_LABEL, f"{where}.displayName is missing or empty")
    return name


def annotation_object(line: dict, key: str) -> dict | None:
    value = field(line, key)
    if value is not None and not isinstance(value, dict):
        raise RowError(rejects.MISSING_FIELD, f"{key} is not an object")
    return value


def annotation_list(obj: dict, key: str, where: str = "") -> list[dict]:
    """The objects of list `key` (absent: none, a negative example)."""
    value = field(obj, key)
    at = f"{where}.{key}" if where else key
    if value is None:
        return []
    if not isinstance(value, list):
        raise RowError(rejects.MISSING_FIELD, f"{at} is not a list")
    for k, item in enumerate(value):
        if not isinstance(item, dict):
            raise RowError(rejects.MISSING_FIELD, f"{at}[{k}] is not an object")
    return value


def box(annotation: dict, where: str) -> None:
    """xMin < xMax and yMin < yMax, each in [0, 1]."""
    x_min, x_max = unit(annotation, "xMin", where), unit(annotation, "xMax", where)
    y_min, y_max = unit(annotation, "yMin", where), unit(annotation, "yMax", where)
    if not (x_min < x_max and y_min < y_max):
        raise RowError(rejects.INVERTED_BOX, f"{where}: xMin {x_min:g} / xMax {x_max:g}, yMin "
                       f"{y_min:g} / yMax {y_max:g}: each min must be below its max")


def single_label(line: dict, text: str | None) -> list[str]:
    """classificationAnnotation{displayName}: one label, or none (a negative example)."""
    annotation = annotation_object(line, "classificationAnnotation")
    return [] if annotation is None else [display_name(annotation, "classificationAnnotation")]


def multi_label(line: dict, text: str | None) -> list[str]:
    """classificationAnnotations[{displayName}]: any number of labels."""
    return [display_name(a, f"classificationAnnotations[{k}]")
            for k, a in enumerate(annotation_list(line, "classificationAnnotations"))]


def line_check(media: str, own_keys: tuple[str, ...], check: AnnotationCheck) -> JsonlCheck:
    """The JSONL check of a Vertex format whose lines carry `media` and the annotation keys
    `own_keys`, checked by `check`."""
    foreign = ANNOTATION_KEYS - set(own_keys)
    foreign_spellings = {spelling: key for key in foreign
                         for spelling in (key, pj.snake(key))}

    def validate(line: object) -> tuple[str, str, list[str]]:
        if not isinstance(line, dict):
            raise RowError(rejects.INVALID_JSON, "the line is JSON but not an object")
        item, text = data_item(line, media)
        for key in line:
            if key in foreign_spellings and line[key] is not None:
                raise RowError(rejects.WRONG_ANNOTATION_TYPE,
                               f"{key} does not belong to this schema "
                               f"(expected {' or '.join(own_keys)})")
        return item, ml_use_of(line), check(line, text)

    return validate


def has_key(*keys: str, media: str | None = None) -> JsonlShape:
    """Inference's shape: the line has one of `keys` (and, if given, a data item of media)."""
    spellings = {s for key in keys for s in (key, pj.snake(key))}
    data_keys = {s for key in _DATA_KEYS[media] for s in (key, pj.snake(key))} if media else None

    def shape(line: dict) -> bool:
        if not any(key in spellings for key in line):
            return False
        return data_keys is None or any(key in data_keys for key in line)

    return shape


def schema_title(name: str) -> str:
    """The title of an import schema (its schema.yaml's `title`): ImageBoundingBox."""
    return "".join(word.capitalize() for word in name.split("_"))


def schema_format(media: str, name: str, **parts) -> Format:
    """A Vertex format named by its import schema, which it also answers to by URI and by
    title (an export's sub-folder holds the schema.yaml of its files)."""
    return Format(name, VERTEX, media, aliases=(SCHEMA_URI.format(name), schema_title(name)),
                  has_validation_split=media != "video", **parts)


# --------------------------------------------------------------------------- typed fast path

TypedBox = typed.struct("VertexBox", [("displayName", typed.Label), ("xMin", typed.Unit, 0.0),
                                      ("xMax", typed.Unit, 0.0), ("yMin", typed.Unit, 0.0),
                                      ("yMax", typed.Unit, 0.0)])
TypedLabel = typed.struct("VertexClassification", [("displayName", typed.Label)])
_TYPED_DATA = {"image": [("imageGcsUri", str)], "video": [("videoGcsUri", str)],
               "text": [("textContent", typed.optional(str), typed.UNSET),
                        ("textGcsUri", typed.optional(str), typed.UNSET)]}


def typed_box_ok(box) -> bool:
    return box.xMin < box.xMax and box.yMin < box.yMax


def _typed_uri(value: str) -> str:
    bucket, _, name = value[5:].partition("/")
    if not value.startswith("gs://") or not bucket or not name:
        raise typed.NotTyped("not a gs:// URI")
    return value


def typed_line(name: str, media: str, own: list[tuple],
               labels_of: Callable[[object, str | None], list[str]]) -> typed.TypedDecode:
    """The fast path of `line_check(media, own keys, ...)`: lines with the annotation fields
    `own` (name, struct type, default), read by `labels_of(line, inline text or None)`,
    which raises typed.NotTyped for what the structs cannot check."""
    own_keys = {f[0] for f in own}
    refused = tuple(s for key in sorted(ANNOTATION_KEYS - own_keys)
                    for s in (key, pj.snake(key))) + ("TemporalBoundingBoxAnnotations",)
    line_type = typed.struct(f"{name}Line", _TYPED_DATA[media] + own + [
        ("dataItemResourceLabels", typed.optional(dict[str, str]), typed.UNSET)],
        refused=refused)
    data_key = _TYPED_DATA[media][0][0]

    def extract(line) -> tuple[str, str, list[str]]:
        text = None
        if media == "text":
            text, uri = line.textContent, line.textGcsUri
            if (text is typed.UNSET) == (uri is typed.UNSET):
                raise typed.NotTyped("not exactly one of textContent and textGcsUri")
            if text is typed.UNSET:
                text, item = None, _typed_uri(uri)
            else:
                item = _text_item(text)
        else:
            item = _typed_uri(getattr(line, data_key))
        labels = labels_of(line, text)
        resource_labels = line.dataItemResourceLabels
        if resource_labels is typed.UNSET:
            return item, "", labels
        use = resource_labels.get(ML_USE_LABEL)
        return item, resource_labels.get("ml_use", "") if use is None else use, labels

    return typed.typed_decoder(line_type, extract)


def typed_single_label(line, text: str | None) -> list[str]:
    annotation = line.classificationAnnotation
    return [] if annotation is typed.UNSET else [annotation.displayName]


def typed_multi_label(line, text: str | None) -> list[str]:
    return [a.displayName for a in line.classificationAnnotations]


SINGLE_LABEL_FIELDS = [("classificationAnnotation", typed.optional(TypedLabel), typed.UNSET)]
MULTI_LABEL_FIELDS = [("classificationAnnotations", list[TypedLabel], [])]
