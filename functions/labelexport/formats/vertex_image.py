"""Vertex AI image formats, named by their import schemas (`.../ioformat/<name>_io_format...`)."""

from __future__ import annotations

from labelexport import rejects
from labelexport.formats import csv_checks as csv
from labelexport.formats import typed
from labelexport.formats import vertex_line as v
from labelexport.rejects import RowError


def _boxes(line: dict, text: str | None) -> list[str]:
    labels = []
    for k, annotation in enumerate(v.annotation_list(line, "boundingBoxAnnotations")):
        where = f"boundingBoxAnnotations[{k}]"
        labels.append(v.display_name(annotation, where))
        v.box(annotation, where)
    return labels


def _typed_boxes(line, text: str | None) -> list[str]:
    boxes = line.boundingBoxAnnotations
    if not all(v.typed_box_ok(b) for b in boxes):
        raise typed.NotTyped("inverted box")
    return [b.displayName for b in boxes]


def _spec_colors(holder: dict, where: str) -> list[str]:
    names = []
    for k, spec in enumerate(v.annotation_list(holder, "annotationSpecColors", where)):
        at = f"{where}.annotationSpecColors[{k}]"
        names.append(v.display_name(spec, at))
        color = v.annotation_object(spec, "color")
        if color is None:
            raise RowError(rejects.MISSING_FIELD, f"{at}.color is missing")
        for channel in ("red", "green", "blue"):
            value = v.number(color, channel, f"{at}.color", default=0.0)
            if not 0.0 <= value <= 1.0:
                raise RowError(rejects.COLOR_OUT_OF_RANGE,
                               f"{at}.color.{channel} is {value:g}, outside [0, 1]")
    return names


def _vertexes(holder: dict, where: str, minimum: int) -> None:
    points = v.annotation_list(holder, "vertexes", where)
    for k, point in enumerate(points):
        v.unit(point, "x", f"{where}.vertexes[{k}]")
        v.unit(point, "y", f"{where}.vertexes[{k}]")
    if len(points) < minimum:
        raise RowError(rejects.TOO_FEW_VERTICES,
                       f"{where}: {len(points)} vertexes; at least {minimum} are needed")


def _segmentation(line: dict, text: str | None) -> list[str]:
    """Google's notebooks write segmentationAnnotation{categoryMaskGcsUri, annotationSpecColors};
    the v1 payload names (maskAnnotation, polygonAnnotation, polylineAnnotation) are taken too."""
    labels: list[str] = []
    for key, mask_key in (("segmentationAnnotation", "categoryMaskGcsUri"),
                          ("maskAnnotation", "maskGcsUri")):
        mask = v.annotation_object(line, key)
        if mask is not None:
            v.check_gcs_uri(v.field(mask, mask_key), f"{key}.{mask_key}")
            labels += _spec_colors(mask, key)
    for key, minimum in (("polygonAnnotation", 3), ("polylineAnnotation", 2)):
        shape = v.annotation_object(line, key)
        if shape is not None:
            labels.append(v.display_name(shape, key))
            _vertexes(shape, key, minimum)
    return labels


def _at_most_one_label(fields: list[str], start: int) -> list[str]:
    labels = csv.labels_only(fields, start)
    if len(labels) > 1:
        raise RowError(rejects.FIELD_COUNT, f"{len(labels)} labels in a single-label row")
    return labels


IMAGE_CLASSIFICATION_SINGLE_LABEL = v.schema_format(
    "image", "image_classification_single_label",
    csv=_at_most_one_label,
    jsonl=v.line_check("image", ("classificationAnnotation",), v.single_label),
    jsonl_typed=v.typed_line("ImageSingleLabel", "image", v.SINGLE_LABEL_FIELDS,
                             v.typed_single_label),
    jsonl_shape=v.has_key("classificationAnnotation", media="image"),
)

IMAGE_CLASSIFICATION_MULTI_LABEL = v.schema_format(
    "image", "image_classification_multi_label",
    csv=csv.labels_only,
    jsonl=v.line_check("image", ("classificationAnnotations",), v.multi_label),
    jsonl_typed=v.typed_line("ImageMultiLabel", "image", v.MULTI_LABEL_FIELDS,
                             v.typed_multi_label),
    jsonl_shape=v.has_key("classificationAnnotations", media="image"),
)

IMAGE_BOUNDING_BOX = v.schema_format(
    "image", "image_bounding_box",
    csv=csv.bounding_box,
    jsonl=v.line_check("image", ("boundingBoxAnnotations",), _boxes),
    jsonl_typed=v.typed_line("ImageBoundingBox", "image",
                             [("boundingBoxAnnotations", list[v.TypedBox], [])], _typed_boxes),
    jsonl_shape=v.has_key("boundingBoxAnnotations"),
)

_SEGMENTATION_KEYS = ("segmentationAnnotation", "maskAnnotation", "polygonAnnotation",
                      "polylineAnnotation")
IMAGE_SEGMENTATION = v.schema_format(
    "image", "image_segmentation",
    jsonl=v.line_check("image", _SEGMENTATION_KEYS, _segmentation),
    jsonl_shape=v.has_key(*_SEGMENTATION_KEYS),
)

FORMATS = (IMAGE_CLASSIFICATION_SINGLE_LABEL, IMAGE_CLASSIFICATION_MULTI_LABEL,
           IMAGE_BOUNDING_BOX, IMAGE_SEGMENTATION)
