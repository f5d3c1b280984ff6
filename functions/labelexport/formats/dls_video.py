"""The Data Labeling Service's video formats (export guide: video sections)."""

from __future__ import annotations

from labelexport import proto_json as pj
from labelexport.formats import csv_checks as csv
from labelexport.formats import dls_example as dls
from labelexport.formats.format import DATALABELING, Format

_TRACKING = "videoObjectTrackingAnnotation"


def _one_frame(body: dict) -> bool:
    frames = pj.get(body, "objectTrackingFrames")
    return isinstance(frames, list) and len(frames) == 1


VIDEO_SHOTS_CLASSIFICATION = Format(
    "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", DATALABELING, "video",
    csv=csv.time_segment,
    jsonl=dls.example_check("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", "video",
                            ("videoClassificationAnnotation",), dls.video_segment),
    csv_shape=lambda rest, numeric: len(rest) == 3 and all(numeric),
    jsonl_shape=dls.value_shape("videoClassificationAnnotation"),
)

VIDEO_OBJECT_DETECTION = Format(
    "VIDEO_OBJECT_DETECTION_ANNOTATION", DATALABELING, "video",
    csv=csv.video_object_detection,
    jsonl=dls.example_check("VIDEO_OBJECT_DETECTION_ANNOTATION", "video", (_TRACKING,),
                            dls.video_tracking),
    csv_shape=lambda rest, numeric: len(rest) == 10 and numeric[0],
    jsonl_shape=dls.value_shape(_TRACKING, _one_frame),
)

VIDEO_OBJECT_TRACKING = Format(
    "VIDEO_OBJECT_TRACKING_ANNOTATION", DATALABELING, "video",
    csv=csv.video_object_tracking,
    jsonl=dls.example_check("VIDEO_OBJECT_TRACKING_ANNOTATION", "video", (_TRACKING,),
                            dls.video_tracking),
    csv_shape=lambda rest, numeric: len(rest) == 11 and numeric[1],
    jsonl_shape=dls.value_shape(_TRACKING, lambda body: not _one_frame(body)),
)

# Its CSV rows look like shot classification's, which inference prefers (listed first).
VIDEO_EVENT = Format(
    "VIDEO_EVENT_ANNOTATION", DATALABELING, "video",
    csv=csv.time_segment,
    jsonl=dls.example_check("VIDEO_EVENT_ANNOTATION", "video", ("videoEventAnnotation",),
                            dls.video_segment),
    jsonl_shape=dls.value_shape("videoEventAnnotation"),
)

FORMATS = (VIDEO_SHOTS_CLASSIFICATION, VIDEO_OBJECT_DETECTION, VIDEO_OBJECT_TRACKING,
           VIDEO_EVENT)
