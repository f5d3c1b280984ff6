"""The Data Labeling Service's text formats (export guide: text sections)."""

from __future__ import annotations

from labelexport.formats import csv_checks as csv
from labelexport.formats import dls_example as dls
from labelexport.formats.format import DATALABELING, Format

TEXT_CLASSIFICATION = Format(
    "TEXT_CLASSIFICATION_ANNOTATION", DATALABELING, "text",
    csv=csv.labels_only,
    jsonl=dls.example_check("TEXT_CLASSIFICATION_ANNOTATION", "text",
                            ("textClassificationAnnotation",), dls.classification),
    csv_shape=lambda rest, numeric: True,
    jsonl_shape=dls.value_shape("textClassificationAnnotation"),
)

TEXT_ENTITY_EXTRACTION = Format(
    "TEXT_ENTITY_EXTRACTION_ANNOTATION", DATALABELING, "text",
    jsonl=dls.example_check("TEXT_ENTITY_EXTRACTION_ANNOTATION", "text",
                            ("textEntityExtractionAnnotation",), dls.text_entity),
    jsonl_shape=dls.value_shape("textEntityExtractionAnnotation"),
)

FORMATS = (TEXT_CLASSIFICATION, TEXT_ENTITY_EXTRACTION)
