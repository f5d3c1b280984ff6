"""Vertex AI text formats, named by their import schemas (`.../ioformat/<name>_io_format...`)."""

from __future__ import annotations

from labelexport import rejects
from labelexport.formats import vertex_line as v
from labelexport.rejects import RowError


def _segments(line: dict, text: str | None) -> list[str]:
    """Character offsets into the text, end exclusive; within the text when it is inline."""
    labels = []
    for k, annotation in enumerate(v.annotation_list(line, "textSegmentAnnotations")):
        where = f"textSegmentAnnotations[{k}]"
        labels.append(v.display_name(annotation, where))
        start = v.integer(annotation, "startOffset", where, default=0)
        end = v.integer(annotation, "endOffset", where)
        if not 0 <= start < end or (text is not None and end > len(text)):
            within = f" within the text's {len(text)} characters" if text is not None else ""
            raise RowError(rejects.OFFSET_OUT_OF_RANGE,
                           f"{where} [{start}, {end}) must be a non-empty range{within}")
    return labels


def _sentiment(line: dict, text: str | None) -> list[str]:
    annotation = v.annotation_object(line, "sentimentAnnotation")
    if annotation is None:
        return []
    where = "sentimentAnnotation"
    sentiment = v.integer(annotation, "sentiment", where, default=0)
    top = v.integer(annotation, "sentimentMax", where)
    if not 0 <= sentiment <= top or top < 1:
        raise RowError(rejects.SENTIMENT_OUT_OF_RANGE,
                       f"{where}.sentiment {sentiment} must be in [0, sentimentMax {top}] and "
                       "sentimentMax at least 1")
    return [f"{sentiment}/{top}"]  # the sentiment is the label; of how many


TEXT_CLASSIFICATION_SINGLE_LABEL = v.schema_format(
    "text", "text_classification_single_label",
    jsonl=v.line_check("text", ("classificationAnnotation",), v.single_label),
    jsonl_typed=v.typed_line("TextSingleLabel", "text", v.SINGLE_LABEL_FIELDS,
                             v.typed_single_label),
    jsonl_shape=v.has_key("classificationAnnotation", media="text"),
)

TEXT_CLASSIFICATION_MULTI_LABEL = v.schema_format(
    "text", "text_classification_multi_label",
    jsonl=v.line_check("text", ("classificationAnnotations",), v.multi_label),
    jsonl_typed=v.typed_line("TextMultiLabel", "text", v.MULTI_LABEL_FIELDS,
                             v.typed_multi_label),
    jsonl_shape=v.has_key("classificationAnnotations", media="text"),
)

TEXT_EXTRACTION = v.schema_format(
    "text", "text_extraction",
    jsonl=v.line_check("text", ("textSegmentAnnotations",), _segments),
    jsonl_shape=v.has_key("textSegmentAnnotations"),
)

TEXT_SENTIMENT = v.schema_format(
    "text", "text_sentiment",
    jsonl=v.line_check("text", ("sentimentAnnotation",), _sentiment),
    jsonl_shape=v.has_key("sentimentAnnotation"),
)

FORMATS = (TEXT_CLASSIFICATION_SINGLE_LABEL, TEXT_CLASSIFICATION_MULTI_LABEL, TEXT_EXTRACTION,
           TEXT_SENTIMENT)
