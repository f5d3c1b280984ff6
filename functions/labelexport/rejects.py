"""Why a row is rejected: a stable snake_case code plus a detail a person can act on."""

from __future__ import annotations

from labelexport.excerpts import clip

# The stable reason codes; rejected.jsonl and the manifest use these words and no others.
FIELD_COUNT = "field_count"
BAD_NUMBER = "bad_number"
COORDINATE_OUT_OF_RANGE = "coordinate_out_of_range"
INVERTED_BOX = "inverted_box"
TOO_FEW_VERTICES = "too_few_vertices"
BAD_TIME_SEGMENT = "bad_time_segment"
BAD_BASE64 = "bad_base64"
BAD_COLOR_KEY = "bad_color_key"
OFFSET_OUT_OF_RANGE = "offset_out_of_range"
UNKNOWN_ML_USE = "unknown_ml_use"
ML_USE_CONFLICT = "ml_use_conflict"
INVALID_JSON = "invalid_json"
WRONG_PAYLOAD = "wrong_payload"
WRONG_ANNOTATION_TYPE = "wrong_annotation_type"
MISSING_FIELD = "missing_field"
MISSING_LABEL = "missing_label"
MISSING_URI = "missing_uri"
BAD_URI = "bad_uri"
INVALID_UTF8 = "invalid_utf8"
LINE_TOO_LONG = "line_too_long"
UNTERMINATED_QUOTE = "unterminated_quote"
CONFLICTING_FIELDS = "conflicting_fields"
COLOR_OUT_OF_RANGE = "color_out_of_range"
SENTIMENT_OUT_OF_RANGE = "sentiment_out_of_range"

REASONS = (
    FIELD_COUNT, BAD_NUMBER, COORDINATE_OUT_OF_RANGE, INVERTED_BOX, TOO_FEW_VERTICES,
    BAD_TIME_SEGMENT, BAD_BASE64, BAD_COLOR_KEY, OFFSET_OUT_OF_RANGE, UNKNOWN_ML_USE,
    ML_USE_CONFLICT, INVALID_JSON, WRONG_PAYLOAD, WRONG_ANNOTATION_TYPE, MISSING_FIELD,
    MISSING_LABEL, MISSING_URI, BAD_URI, INVALID_UTF8, LINE_TOO_LONG, UNTERMINATED_QUOTE,
    CONFLICTING_FIELDS, COLOR_OUT_OF_RANGE, SENTIMENT_OUT_OF_RANGE,
)


class RowError(Exception):
    """A row that fails validation; carries the reason code and the detail (clipped: a detail
    that quotes a field of a long row does not copy the row, which `raw` keeps anyway)."""

    def __init__(self, reason: str, detail: str):
        detail = clip(detail)
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
