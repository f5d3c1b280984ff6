"""Format sniffing and annotation-type inference from an export's first rows."""

from __future__ import annotations

import json

import pytest
from labelexport import inference
from labelexport.errors import SourceError
from splitting import run_split
from test_csv_validation import VALID_ROWS
from test_jsonl_validation import SEED_EXAMPLES

# Types whose rows look alike: the inference names the first of each pair.
ALIKE = {
    "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION": "IMAGE_BOUNDING_POLY_ANNOTATION",
    "VIDEO_EVENT_ANNOTATION": "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION",
}


@pytest.mark.parametrize(("lines", "fmt"), [
    (['{"name": "x"}'], "jsonl"),
    (["  [1, 2]"], "jsonl"),
    (["", "   ", '{"a": 1}'], "jsonl"),
    (["TRAIN,gs://b/a.png,rose"], "csv"),
    (["gs://b/a.png"], "csv"),
    (["", "x"], "csv"),
    ([], None),
    (["", "  ", "\r"], None),
])
def test_sniff_format(lines, fmt):
    assert inference.sniff_format(lines) == fmt


@pytest.mark.parametrize("annotation_type", sorted(VALID_ROWS))
def test_each_csv_type_is_inferred_from_its_rows(annotation_type):
    rows = VALID_ROWS[annotation_type]
    assert inference.infer_type(rows, "csv").name == ALIKE.get(annotation_type, annotation_type)


@pytest.mark.parametrize("annotation_type", sorted(VALID_ROWS))
def test_each_csv_type_is_inferred_end_to_end(tmp_path, annotation_type):
    rows = VALID_ROWS[annotation_type]
    run = run_split(tmp_path, "\n".join(rows) + "\n")
    assert run.manifest["source"]["annotationType"] == ALIKE.get(annotation_type, annotation_type)
    assert run.manifest["source"]["annotationTypeSource"] == "inferred"
    assert run.manifest["source"]["format"] == "csv"
    assert run.manifest["rows"]["rejected"] == 0


@pytest.mark.parametrize(("rows", "expected"), [
    (["gs://b/a.png,rose,0.1,0.1,,,0.3,0.3,,"], "IMAGE_BOUNDING_BOX_ANNOTATION"),  # no ML use
    (["TRAIN,gs://b/a.png,rose,0.1,0.1,0.3,0.1,0.3,0.3,0.1,0.3"], "IMAGE_BOUNDING_BOX_ANNOTATION"),
    (['TRAIN,gs://b/a.png,"rose, red",0.1,0.1,,,0.3,0.3,,\r'], "IMAGE_BOUNDING_BOX_ANNOTATION"),
    (["training,gs://b/a.jpg,cat", "Test,gs://b/neg.jpg"], "IMAGE_CLASSIFICATION_ANNOTATION"),
    (["TRAIN,gs://b/doc.TXT,news"], "TEXT_CLASSIFICATION_ANNOTATION"),
    (["TRAIN,gs://b/v.MP4?x=1,dog,1,2"], "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION"),
    (["TRAIN,gs://b/v.mov,dog,3.5,0.1,0.1,0.3,0.1,0.3,0.3,0.1,0.3"],
     "VIDEO_OBJECT_DETECTION_ANNOTATION"),  # all four corners written out
    (["TRAIN,gs://b/v.mov,dog,i7,3.5,0.1,0.1,,,0.3,0.3,,"], "VIDEO_OBJECT_TRACKING_ANNOTATION"),
    # two-point rows beside longer ones are polylines
    (["TRAIN,gs://b/a.png,s,0.1,0.1,,,0.3,0.3,,",
      "TRAIN,gs://b/b.png,s,0.1,0.1,,,0.3,0.3,,,0.5,0.6,,"], "IMAGE_POLYLINE_ANNOTATION"),
    # the majority wins; rows that tell nothing do not vote
    (["TRAIN,gs://b/a.png,rose", "TRAIN,gs://b/b.png,tulip", "TRAIN,gs://b/neg.png,,,,",
      "TRAIN,gs://b/c.png,rose,0.1,0.1,,,0.3,0.3,,", "garbage", "HOLDOUT,x,y"],
     "IMAGE_CLASSIFICATION_ANNOTATION"),
])
def test_csv_inference_cases(rows, expected):
    assert inference.infer_type(rows, "csv").name == expected


@pytest.mark.parametrize("annotation_type", sorted(SEED_EXAMPLES))
def test_jsonl_types_are_inferred(annotation_type):
    line = json.dumps(SEED_EXAMPLES[annotation_type])
    expected = {"IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION": "IMAGE_BOUNDING_POLY_ANNOTATION"}
    inferred = inference.infer_type([line], "jsonl").name
    assert inferred == expected.get(annotation_type, annotation_type)


@pytest.mark.parametrize(("rows", "fmt"), [
    ([], "csv"),
    (["TRAIN,gs://b/neg.png", "TEST,gs://b/neg2.png,,,"], "csv"),  # negatives fit every type
    (["hello world", "a,b,c", "TRAIN,not-a-uri,rose"], "csv"),
    (["TRAIN,gs://b/v.mp4,dog,ten,twenty"], "csv"),
    (['{"name": "x", "imagePayload": {}}', "not json", "[1, 2]"], "jsonl"),
    (['{"annotations": [{"annotationValue": {"unknownAnnotation": {}}}]}'], "jsonl"),
])
def test_nothing_to_infer_from_is_a_source_error(rows, fmt):
    with pytest.raises(SourceError, match="cannot infer the annotation type.*pass the type"):
        inference.infer_type(rows, fmt)


def test_split_without_a_type_and_nothing_to_infer_from_fails_clearly(tmp_path):
    with pytest.raises(SourceError, match="cannot infer.*CSV export row"):
        run_split(tmp_path, "TRAIN,gs://b/neg.png\nTEST,gs://b/neg2.png\n")
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # nothing written


def test_given_format_disagreeing_with_the_file_is_a_source_error(tmp_path):
    line = json.dumps(SEED_EXAMPLES["IMAGE_CLASSIFICATION_ANNOTATION"])
    with pytest.raises(SourceError, match="looks like JSONL, not CSV"):
        run_split(tmp_path, line + "\n", fmt="csv")
    with pytest.raises(SourceError, match="looks like CSV, not JSONL"):
        run_split(tmp_path, "TRAIN,gs://b/a.png,rose\n", fmt="jsonl")


def test_jsonl_only_type_given_for_a_csv_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="IMAGE_SEGMENTATION_ANNOTATION exports are JSONL only"):
        run_split(tmp_path, "TRAIN,gs://b/a.png,rose\n",
                  annotation_type="IMAGE_SEGMENTATION_ANNOTATION")


def test_inference_samples_past_leading_bad_rows(tmp_path):
    rows = ["HOLDOUT,gs://b/x.png,rose,0.1,0.1,,,0.3,0.3,,"] * 3 + \
        [f"TRAIN,gs://b/{k}.png,rose,0.1,0.1,,,0.3,0.3,," for k in range(5)]
    run = run_split(tmp_path, b"\xff\xfe\n" + ("\n".join(rows) + "\n").encode())
    assert run.manifest["source"]["annotationType"] == "IMAGE_BOUNDING_BOX_ANNOTATION"
    assert run.manifest["rows"] == {"read": 9, "written": 5, "rejected": 4}


def test_deeply_nested_json_does_not_crash_inference():
    with pytest.raises(SourceError):
        inference.infer_type(["[" * 100_000], "jsonl")
