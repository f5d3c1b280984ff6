"""Vertex AI video formats, named by their import schemas (`.../ioformat/<name>_io_format...`).

Video datasets have training and test items only: no validation split is normal.
"""

from __future__ import annotations

from labelexport import rejects
from labelexport.formats import vertex_line as v
from labelexport.rejects import RowError


def _segment(annotation: dict, where: str, key_frames: bool) -> tuple[float, float]:
    """startTime (default 0s) before endTime (default "Infinity": the end of the video); equal
    where a segment may be a key frame."""
    start = v.duration(annotation, "startTime", where, default=0.0)
    end = v.duration(annotation, "endTime", where, default=v.INFINITY, infinity=True)
    if not (start <= end if key_frames else start < end):
        order = "after" if key_frames else "not before"
        raise RowError(rejects.BAD_TIME_SEGMENT,
                       f"{where} startTime {start:g}s is {order} endTime {end:g}s")
    return start, end


def _labeled_segments(line: dict, key_frames: bool) -> list[str]:
    labels = []
    for k, annotation in enumerate(v.annotation_list(line, "timeSegmentAnnotations")):
        where = f"timeSegmentAnnotations[{k}]"
        labels.append(v.display_name(annotation, where))
        _segment(annotation, where, key_frames)
    return labels


def _classification(line: dict, text: str | None) -> list[str]:
    return _labeled_segments(line, key_frames=False)


def _action_recognition(line: dict, text: str | None) -> list[str]:
    for k, segment in enumerate(v.annotation_list(line, "timeSegments")):
        _segment(segment, f"timeSegments[{k}]", key_frames=False)
    return _labeled_segments(line, key_frames=True)


def _tracking(line: dict, text: str | None) -> list[str]:
    # Google's own page spells the key TemporalBoundingBoxAnnotations; real exports camelCase.
    key = "TemporalBoundingBoxAnnotations" if "TemporalBoundingBoxAnnotations" in line \
        else "temporalBoundingBoxAnnotations"
    labels = []
    for k, annotation in enumerate(v.annotation_list(line, key)):
        where = f"{key}[{k}]"
        labels.append(v.display_name(annotation, where))
        v.box(annotation, where)
        v.duration(annotation, "timeOffset", where, default=0.0)
        v.integer(annotation, "instanceId", where, default=0)
    return labels


def _has_key_frame(line: dict) -> bool:
    """Inference: a segment with startTime == endTime is an action's key frame."""
    for annotation in v.annotation_list(line, "timeSegmentAnnotations"):
        start, end = v.field(annotation, "startTime"), v.field(annotation, "endTime")
        if start is not None and start == end:
            return True
    return False


def _action_shape(line: dict) -> bool:
    try:
        return v.field(line, "timeSegments") is not None or _has_key_frame(line)
    except RowError:
        return False


def _classification_shape(line: dict) -> bool:
    return v.field(line, "timeSegmentAnnotations") is not None and not _action_shape(line)


VIDEO_ACTION_RECOGNITION = v.schema_format(
    "video", "video_action_recognition",
    jsonl=v.line_check("video", ("timeSegments", "timeSegmentAnnotations"),
                       _action_recognition),
    jsonl_shape=_action_shape,
    # Google's own examples of it carry neither timeSegments nor key frames: they look like
    # classification lines, and lines that do say which of the two an export is.
    inferred_from_mix=frozenset({"video_classification", "video_action_recognition"}),
)

VIDEO_CLASSIFICATION = v.schema_format(
    "video", "video_classification",
    jsonl=v.line_check("video", ("timeSegmentAnnotations",), _classification),
    jsonl_shape=_classification_shape,
)

VIDEO_OBJECT_TRACKING = v.schema_format(
    "video", "video_object_tracking",
    jsonl=v.line_check("video", ("temporalBoundingBoxAnnotations",), _tracking),
    jsonl_shape=v.has_key("temporalBoundingBoxAnnotations", "TemporalBoundingBoxAnnotations"),
)

FORMATS = (VIDEO_CLASSIFICATION, VIDEO_ACTION_RECOGNITION, VIDEO_OBJECT_TRACKING)
