"""Each CSV annotation type: its valid rows and every way a row can be wrong."""

import pytest
from labelexport.config import SplitPolicy
from splitting import run_split

KEEP = SplitPolicy(unassigned="keep")

VALID_ROWS = {
    "IMAGE_CLASSIFICATION_ANNOTATION": [
        "UNASSIGNED,gs://b/image.png,label_1,label_2",  # the guide's line, with real values
        "TRAIN,gs://b/a.png,tulip",
        "TRAIN,gs://b/neg.png",  # a negative example: no label
        "TEST,gs://b/c.png,daisy,,",  # trailing empty columns
    ],
    "IMAGE_BOUNDING_BOX_ANNOTATION": [
        "UNASSIGNED,gs://b/image.png,tulip,0.1,0.1,,,0.3,0.3,,",  # the guide's line
        "TRAIN,gs://b/a.png,rose,0.1,0.2,0.5,0.2,0.5,0.6,0.1,0.6",  # all four corners
        "VALIDATION,gs://b/b.png,rose,.1,.2,,,.7,1,,",  # numbers like .7
        "TEST,gs://b/neg.png,,,,,,,,,",  # a negative example: no label, no box
        "TEST,gs://b/neg2.png",
        "TRAIN,gs://b/d.png,rose,0,0,,,1,1,,",
    ],
    "IMAGE_BOUNDING_POLY_ANNOTATION": [
        "UNASSIGNED,gs://b/image.png,tulip,0.1,0.1,,,0.3,0.3,,,0.6,0.6,,",  # the guide's line
        "TRAIN,gs://b/a.png,rose,0.1,0.1,,,0.3,0.3,,,0.6,0.6",  # last gap columns left off
        "TRAIN,gs://b/neg.png",
    ],
    "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION": [
        "UNASSIGNED,gs://b/image.png,tulip,0.1,0.1,,,0.3,0.2,,,0.25,0.5,,,0.05,0.4,,",
    ],
    "IMAGE_POLYLINE_ANNOTATION": [
        "UNASSIGNED,gs://b/image.png,tulip,0.1,0.1,,,0.3,0.3,,,0.6,0.6,,",
        "TRAIN,gs://b/two.png,stem,0.1,0.1,,,0.3,0.3,,",  # two points are a line
    ],
    "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION": [
        "UNASSIGNED,gs://b/video.mp4,dog,10,20",
        "TRAIN,gs://b/v2.mp4,cat,0.5,1.25",
    ],
    "VIDEO_EVENT_ANNOTATION": [
        "UNASSIGNED,gs://b/video.mp4,Callie,123,150",
    ],
    "VIDEO_OBJECT_DETECTION_ANNOTATION": [
        "UNASSIGNED,gs://b/video.mp4,tulip,10.5,0.1,0.1,,,0.3,0.3,,",
    ],
    "VIDEO_OBJECT_TRACKING_ANNOTATION": [
        "UNASSIGNED,gs://b/video.mp4,tulip,instance_1,10.5,0.1,0.1,,,0.3,0.3,,",
        "UNASSIGNED,gs://b/video.mp4,tulip,instance_1,10.6,0.12,0.1,,,0.32,0.3,,",
        "TRAIN,gs://b/deer.mp4,deer,,11.5,0.4,0.4,,,0.6,0.7,,",  # the instance id is optional
        "gs://folder/video1.avi,car,,12.90,0.8,0.2,,,0.9,0.3,,",  # AutoML Video's own example
    ],
    "TEXT_CLASSIFICATION_ANNOTATION": [
        "UNASSIGNED,gs://b/file.txt,news",
        "TRAIN,gs://b/other.txt,sports",
    ],
}


@pytest.mark.parametrize("annotation_type", sorted(VALID_ROWS))
def test_valid_rows_are_all_written(tmp_path, annotation_type):
    rows = VALID_ROWS[annotation_type]
    run = run_split(tmp_path, "\n".join(rows) + "\n", annotation_type=annotation_type,
                    policy=KEEP)
    assert run.manifest["rows"] == {"read": len(rows), "written": len(rows), "rejected": 0}
    written = sorted(r for s in ("train", "validation", "test", "unassigned") for r in run.rows(s))
    assert written == sorted(rows)  # byte for byte under `keep`


def _reject(tmp_path, annotation_type: str, row: str) -> dict:
    run = run_split(tmp_path, row + "\n", annotation_type=annotation_type)
    assert run.manifest["rows"]["rejected"] == 1, run.manifest
    (rejected,) = run.rejected()
    assert rejected["line"] == 1 and rejected["raw"] == row
    return rejected


BAD_ROWS = [
    # (type, row, reason, words the detail must contain)
    ("IMAGE_BOUNDING_BOX_ANNOTATION", "TRAIN,gs://b/a.png,rose,0.1,0.1,,,0.3",
     "field_count", "expected 11 columns"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION", "TRAIN,gs://b/a.png,rose,0.1,abc,,,0.3,0.3,,",
     "bad_number", "column 5 (top-left y)"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION", "TRAIN,gs://b/a.png,rose,0.1,nan,,,0.3,0.3,,",
     "bad_number", "column 5"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION", "TRAIN,gs://b/a.png,rose,0.1,0.1,,,1.3,0.3,,",
     "coordinate_out_of_range", "column 8 (bottom-right x) is 1.3"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION", "TRAIN,gs://b/a.png,rose,-0.1,0.1,,,0.3,0.3,,",
     "coordinate_out_of_range", "column 4"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION", "TRAIN,gs://b/a.png,rose,0.5,0.1,,,0.3,0.3,,",
     "inverted_box", "top-left (0.5, 0.1)"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION", "TRAIN,gs://b/a.png,rose,0.1,0.1,2,,0.3,0.3,,",
     "coordinate_out_of_range", "top-right x"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION", "TRAIN,gs://b/a.png,,0.1,0.1,,,0.3,0.3,,",
     "missing_label", "column 3"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION", "HOLDOUT,gs://b/a.png,rose,0.1,0.1,,,0.3,0.3,,",
     "unknown_ml_use", "'HOLDOUT'"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION", "TRAIN,,rose,0.1,0.1,,,0.3,0.3,,",
     "missing_uri", "column 2"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION", "TRAIN,image.png,rose,0.1,0.1,,,0.3,0.3,,",
     "bad_uri", "image.png"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION", 'TRAIN,"gs://b/a.png,rose,0.1',
     "unterminated_quote", "never closed"),
    ("IMAGE_BOUNDING_POLY_ANNOTATION", "TRAIN,gs://b/a.png,rose,0.1,0.1,,,0.3,0.3,,",
     "too_few_vertices", "at least 3"),
    ("IMAGE_BOUNDING_POLY_ANNOTATION", "TRAIN,gs://b/a.png,rose,0.1,0.1,,,0.3,0.3,,,0.6",
     "field_count", "two empty columns per point"),
    ("IMAGE_BOUNDING_POLY_ANNOTATION", "TRAIN,gs://b/a.png,rose,0.1,0.1,5,,0.3,0.3,,,0.6,0.6,,",
     "field_count", "must be empty"),
    ("IMAGE_BOUNDING_POLY_ANNOTATION", "TRAIN,gs://b/a.png,rose,0.1,0.1,,,0.3,1.3,,,0.6,0.6,,",
     "coordinate_out_of_range", "point 2 y"),
    ("IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION",
     "TRAIN,gs://b/a.png,rose,0.1,0.1,,,0.3,0.3,,,0.6,0.6,,", "too_few_vertices", "exactly 4"),
    ("IMAGE_POLYLINE_ANNOTATION", "TRAIN,gs://b/a.png,rose,0.1,0.1,,", "too_few_vertices",
     "at least 2"),
    ("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", "TRAIN,gs://b/v.mp4,dog,20,10",
     "bad_time_segment", "start 20"),
    ("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", "TRAIN,gs://b/v.mp4,dog,10,10",
     "bad_time_segment", "before end"),
    ("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", "TRAIN,gs://b/v.mp4,dog,ten,20",
     "bad_number", "segment start"),
    ("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", "TRAIN,gs://b/v.mp4,dog,10",
     "field_count", "expected 5 columns"),
    ("VIDEO_EVENT_ANNOTATION", "TRAIN,gs://b/v.mp4,Callie,-1,150", "bad_time_segment", ">= 0"),
    ("VIDEO_OBJECT_DETECTION_ANNOTATION", "TRAIN,gs://b/v.mp4,tulip,-3,0.1,0.1,,,0.3,0.3,,",
     "bad_time_segment", "timestamp"),
    ("VIDEO_OBJECT_DETECTION_ANNOTATION", "TRAIN,gs://b/v.mp4,tulip,3,0.4,0.1,,,0.3,0.3,,",
     "inverted_box", "top-left"),
    ("VIDEO_OBJECT_DETECTION_ANNOTATION", "TRAIN,gs://b/v.mp4,tulip,0.1,0.1,,,0.3,0.3,,",
     "field_count", "expected 12 columns"),
    ("VIDEO_OBJECT_TRACKING_ANNOTATION", "TRAIN,gs://b/v.mp4,tulip,i1,3,0.1,0.1,,,0.3,1.5,,",
     "coordinate_out_of_range", "bottom-right y"),
    ("TEXT_CLASSIFICATION_ANNOTATION", "TRAIN,gs://b/t.txt,,news", "missing_label", "column 3"),
    ("TEXT_CLASSIFICATION_ANNOTATION", "TESTS,gs://b/t.txt,news", "unknown_ml_use", "TESTS"),
]


@pytest.mark.parametrize(("annotation_type", "row", "reason", "words"), BAD_ROWS)
def test_bad_row_is_rejected_with_a_clear_reason(tmp_path, annotation_type, row, reason, words):
    rejected = _reject(tmp_path, annotation_type, row)
    assert rejected["reason"] == reason
    assert words in rejected["detail"]


def test_every_csv_type_has_a_rejection_test():
    assert {t for t, *_ in BAD_ROWS} == set(VALID_ROWS) - {"IMAGE_CLASSIFICATION_ANNOTATION"} \
        | {"IMAGE_BOUNDING_BOX_ANNOTATION"}
