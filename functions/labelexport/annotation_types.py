"""The Data Labeling AnnotationType names in scope, and what each one's export looks like."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnnotationType:
    name: str
    media: str  # "image", "video" or "text": which payload an example carries
    has_csv: bool  # segmentation and entity extraction export JSONL only
    value_keys: tuple[str, ...]  # AnnotationValue oneof fields (camelCase) this type may use


_TYPES = (
    AnnotationType("IMAGE_CLASSIFICATION_ANNOTATION", "image", True,
                   ("imageClassificationAnnotation",)),
    AnnotationType("IMAGE_BOUNDING_BOX_ANNOTATION", "image", True,
                   ("imageBoundingPolyAnnotation",)),
    AnnotationType("IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION", "image", True,
                   ("imageBoundingPolyAnnotation",)),
    AnnotationType("IMAGE_BOUNDING_POLY_ANNOTATION", "image", True,
                   ("imageBoundingPolyAnnotation",)),
    AnnotationType("IMAGE_POLYLINE_ANNOTATION", "image", True,
                   ("imagePolylineAnnotation", "imageBoundingPolyAnnotation")),
    AnnotationType("IMAGE_SEGMENTATION_ANNOTATION", "image", False,
                   ("imageSegmentationAnnotation",)),
    AnnotationType("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", "video", True,
                   ("videoClassificationAnnotation",)),
    AnnotationType("VIDEO_OBJECT_DETECTION_ANNOTATION", "video", True,
                   ("videoObjectTrackingAnnotation",)),
    AnnotationType("VIDEO_OBJECT_TRACKING_ANNOTATION", "video", True,
                   ("videoObjectTrackingAnnotation",)),
    AnnotationType("VIDEO_EVENT_ANNOTATION", "video", True, ("videoEventAnnotation",)),
    AnnotationType("TEXT_CLASSIFICATION_ANNOTATION", "text", True,
                   ("textClassificationAnnotation",)),
    AnnotationType("TEXT_ENTITY_EXTRACTION_ANNOTATION", "text", False,
                   ("textEntityExtractionAnnotation",)),
)

ANNOTATION_TYPES: dict[str, AnnotationType] = {t.name: t for t in _TYPES}
NAMES: tuple[str, ...] = tuple(ANNOTATION_TYPES)


def lookup(name: str) -> AnnotationType:
    """The type named `name` (case-insensitive); ValueError naming the accepted ones otherwise."""
    found = ANNOTATION_TYPES.get(name.strip().upper())
    if found is None:
        raise ValueError(f"unknown annotation type {name!r}; expected one of {', '.join(NAMES)}")
    return found
