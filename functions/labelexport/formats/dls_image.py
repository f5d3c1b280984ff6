"""The Data Labeling Service's image formats (export guide: image sections)."""

from __future__ import annotations

from labelexport import proto_json as pj
from labelexport.formats import csv_checks as csv
from labelexport.formats import dls_example as dls
from labelexport.formats import typed
from labelexport.formats.format import DATALABELING, Format

_POLY = "imageBoundingPolyAnnotation"


def _two_vertices(body: dict) -> bool:
    poly = pj.get(body, "normalizedBoundingPoly") or pj.get(body, "boundingPoly")
    vertices = pj.get(poly, "normalizedVertices") or pj.get(poly, "vertices")
    return isinstance(vertices, list) and len(vertices) == 2


# The fast path's structs: normalized vertices only (pixel vertices take the check's path).
_Vertex = typed.struct("NormalizedVertex", [("x", typed.Unit, 0.0), ("y", typed.Unit, 0.0)])
_Poly = typed.struct("NormalizedPoly", [("normalizedVertices", list[_Vertex])],
                     refused=("vertices",))
_PolyValue = typed.struct("BoundingPolyValue", [
    ("annotationSpec", dls.Spec), ("normalizedBoundingPoly", _Poly)],
    refused=("normalizedPolyline", "normalized_polyline", "boundingPoly", "bounding_poly"))
_ClassificationValue = typed.struct("ClassificationValue", [("annotationSpec", dls.Spec)])


def _typed_box(value) -> list[str]:
    points = value.normalizedBoundingPoly.normalizedVertices
    if len(points) == 2:
        first, last = points
    elif len(points) == 4:
        first, last = points[0], points[2]
    else:
        raise typed.NotTyped("not 2 or 4 vertices")
    if not (first.x < last.x and first.y < last.y):
        raise typed.NotTyped("inverted")
    return [value.annotationSpec.displayName]


def _box_row(rest: list[str], numeric: list[bool]) -> bool:
    if csv.point_count(rest[1:]) == 2:
        return True
    return len(rest) in (5, 9) and all(numeric[k] for k in (0, 1, -2, -1))  # 4 corners written


IMAGE_CLASSIFICATION = Format(
    "IMAGE_CLASSIFICATION_ANNOTATION", DATALABELING, "image",
    csv=csv.labels_only,
    jsonl=dls.example_check("IMAGE_CLASSIFICATION_ANNOTATION", "image",
                            ("imageClassificationAnnotation",), dls.classification),
    jsonl_typed=dls.typed_example(
        "ImageClassification", "image", [("imageClassificationAnnotation", _ClassificationValue)],
        lambda value: [value.annotationSpec.displayName]),
    csv_shape=lambda rest, numeric: not any(numeric),
    jsonl_shape=dls.value_shape("imageClassificationAnnotation"),
)

IMAGE_BOUNDING_BOX = Format(
    "IMAGE_BOUNDING_BOX_ANNOTATION", DATALABELING, "image",
    csv=csv.bounding_box,
    jsonl=dls.example_check("IMAGE_BOUNDING_BOX_ANNOTATION", "image", (_POLY,),
                            dls.poly(2, box=True)),
    jsonl_typed=dls.typed_example("ImageBoundingBox", "image", [(_POLY, _PolyValue)],
                                  _typed_box),
    csv_shape=_box_row,
    jsonl_shape=dls.value_shape(_POLY, _two_vertices),
)

# Never inferred: four-point rows are taken for bounding polygons, which accept them.
IMAGE_ORIENTED_BOUNDING_BOX = Format(
    "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION", DATALABELING, "image",
    csv=csv.vertices(4, exact=4),
    jsonl=dls.example_check("IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION", "image", (_POLY,),
                            dls.poly(4, exact=4)),
)

IMAGE_BOUNDING_POLY = Format(
    "IMAGE_BOUNDING_POLY_ANNOTATION", DATALABELING, "image",
    csv=csv.vertices(3),
    jsonl=dls.example_check("IMAGE_BOUNDING_POLY_ANNOTATION", "image", (_POLY,), dls.poly(3)),
    csv_shape=lambda rest, numeric: (csv.point_count(rest[1:]) or 0) >= 3,
    jsonl_shape=dls.value_shape(_POLY, lambda body: not _two_vertices(body)),
)

IMAGE_POLYLINE = Format(
    "IMAGE_POLYLINE_ANNOTATION", DATALABELING, "image",
    csv=csv.vertices(2),
    jsonl=dls.example_check("IMAGE_POLYLINE_ANNOTATION", "image",
                            ("imagePolylineAnnotation", _POLY), dls.poly(2)),
    jsonl_shape=dls.value_shape("imagePolylineAnnotation"),
    inferred_from_mix=frozenset({IMAGE_BOUNDING_BOX.name, IMAGE_BOUNDING_POLY.name}),
)

IMAGE_SEGMENTATION = Format(
    "IMAGE_SEGMENTATION_ANNOTATION", DATALABELING, "image",
    jsonl=dls.example_check("IMAGE_SEGMENTATION_ANNOTATION", "image",
                            ("imageSegmentationAnnotation",), dls.segmentation),
    jsonl_shape=dls.value_shape("imageSegmentationAnnotation"),
    export_to_folder=True,  # the guide: the service names the file inside the folder
)

FORMATS = (IMAGE_CLASSIFICATION, IMAGE_BOUNDING_BOX, IMAGE_ORIENTED_BOUNDING_BOX,
           IMAGE_BOUNDING_POLY, IMAGE_POLYLINE, IMAGE_SEGMENTATION)
