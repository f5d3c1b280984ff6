"""Each Vertex AI format: Google's documented examples (made valid JSON), lines as exports write
them, and each kind of bad line, each with its stable reason and a detail naming the field."""

from __future__ import annotations

import json

import pytest
from labelexport import formats
from labelexport.config import SplitPolicy
from splitting import run_split

ML = "aiplatform.googleapis.com/ml_use"


def _line(**fields) -> str:
    return json.dumps(fields)


# Google's "Example JSON Lines" of the prepare-data and export-format pages, made valid where the
# published text is not (the object-tracking one uses single quotes and mixes key spellings).
DOCUMENTED = {
    "image_classification_single_label": [
        '{"imageGcsUri": "gs://bucket/filename1.jpeg",  "classificationAnnotation": {"displayName":'
        ' "daisy"}, "dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "test"}}',
        '{"imageGcsUri": "gs://bucket/filename2.gif",  "classificationAnnotation": {"displayName":'
        ' "dandelion"}, "dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": '
        '"training"}}',
    ],
    "image_classification_multi_label": [
        '{"imageGcsUri": "gs://bucket/filename1.jpeg",  "classificationAnnotations": '
        '[{"displayName": "daisy"}, {"displayName": "full_shot"}], "dataItemResourceLabels": '
        '{"aiplatform.googleapis.com/ml_use": "test"}}',
    ],
    "image_bounding_box": [
        '{"imageGcsUri": "gs://bucket/filename1.jpeg", "boundingBoxAnnotations": [{"displayName":'
        ' "Tomato", "xMin": "0.3", "yMin": "0.3", "xMax": "0.7", "yMax": "0.6"}], '
        '"dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "test"}}',
        '{"imageGcsUri": "gs://bucket/filename2.gif", "boundingBoxAnnotations": [{"displayName":'
        ' "Tomato", "xMin": "0.8", "yMin": "0.2", "xMax": "1.0", "yMax": "0.4"},{"displayName": '
        '"Salad", "xMin": "0.0", "yMin": "0.0", "xMax": "1.0", "yMax": "1.0"}], '
        '"dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "training"}}',
    ],
    "video_classification": [
        '{"videoGcsUri": "gs://demo/video1.mp4", "timeSegmentAnnotations": [{"displayName": '
        '"cartwheel", "startTime": "1.0s", "endTime": "12.0s"}], "dataItemResourceLabels": '
        '{"aiplatform.googleapis.com/ml_use": "training"}}',
    ],
    "video_action_recognition": [
        '{"videoGcsUri": "gs://demo/video1.mp4", "timeSegmentAnnotations": [{"displayName": '
        '"cartwheel", "startTime": "1.0s", "endTime": "12.0s"}], "dataItemResourceLabels": '
        '{"ml_use": "training"}}',
        '{"videoGcsUri": "gs://demo/video2.mp4", "timeSegmentAnnotations": [{"displayName": '
        '"swing", "startTime": "4.0s", "endTime": "9.0s"}], "dataItemResourceLabels": '
        '{"ml_use": "test"}}',
    ],
    "video_object_tracking": [
        '{"videoGcsUri": "gs://demo-data/video1.mp4", "temporal_bounding_box_annotations": '
        '[{"displayName": "horse", "instance_id": "-1", "time_offset": "4.000000s", '
        '"xMin": "0.668912", "yMin": "0.560642", "xMax": "1.000000", "yMax": "1.000000"}], '
        '"dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": "test"}}',
    ],
}

# Lines as an export writes them: camelCase, numbers as numbers, labels passing through.
EXPORTED = {
    "image_classification_single_label": [
        _line(imageGcsUri="gs://b/a.jpg", classificationAnnotation={
            "displayName": "rose", "annotationResourceLabels": {
                "aiplatform.googleapis.com/annotation_set_name": "flowers"}},
            dataItemResourceLabels={ML: "validation"}),
        _line(imageGcsUri="gs://b/negative.jpg"),
    ],
    "image_classification_multi_label": [
        _line(imageGcsUri="gs://b/a.jpg", classificationAnnotations=[]),
    ],
    "image_bounding_box": [
        _line(imageGcsUri="gs://b/a.jpg", boundingBoxAnnotations=[
            {"displayName": "car", "xMin": 0.1, "xMax": 0.5, "yMin": 0, "yMax": 1}]),
        _line(imageGcsUri="gs://b/z.jpg", boundingBoxAnnotations=[  # zeros left out
            {"displayName": "car", "xMax": 0.5, "yMax": 1}]),
        _line(image_gcs_uri="gs://b/c.jpg", bounding_box_annotations=[
            {"display_name": "car", "x_min": 0.1, "x_max": 0.5, "y_min": 0.2, "y_max": 0.3}],
            data_item_resource_labels={ML: "TRAINING"}),
    ],
    "image_segmentation": [
        _line(imageGcsUri="gs://b/a.jpg", segmentationAnnotation={
            "categoryMaskGcsUri": "gs://b/masks/a.png", "annotationSpecColors": [
                {"color": {"red": 1.0, "green": 0.0, "blue": 0.0}, "displayName": "road"},
                {"color": {"green": 1}, "displayName": "tree"}]}),
        _line(imageGcsUri="gs://b/b.jpg", maskAnnotation={
            "maskGcsUri": "gs://b/masks/b.png", "annotationSpecColors": [
                {"color": {"blue": 0.5}, "displayName": "sky"}]}),
        _line(imageGcsUri="gs://b/c.jpg", polygonAnnotation={
            "displayName": "lake", "vertexes": [{"x": 0.1, "y": 0.1}, {"x": 0.5, "y": 0.1},
                                                {"x": 0.3, "y": 0.6}]}),
        _line(imageGcsUri="gs://b/d.jpg", polylineAnnotation={
            "displayName": "lane", "vertexes": [{"x": 0.1, "y": 0.1}, {"x": 0.5}]}),
    ],
    "text_classification_single_label": [
        _line(textContent="a fine day", classificationAnnotation={"displayName": "happy"},
              dataItemResourceLabels={ML: "test"}),
        _line(textGcsUri="gs://b/t.txt", classificationAnnotation={"displayName": "sad"}),
    ],
    "text_classification_multi_label": [
        _line(textContent="x", classificationAnnotations=[{"displayName": "a"},
                                                          {"displayName": "b"}]),
    ],
    "text_extraction": [
        _line(textContent="Alice met Bob", textSegmentAnnotations=[
            {"startOffset": 0, "endOffset": 5, "displayName": "person"},
            {"startOffset": "10", "endOffset": "13", "displayName": "person"}]),
        _line(textGcsUri="gs://b/t.txt", textSegmentAnnotations=[
            {"startOffset": 100, "endOffset": 105, "displayName": "place"}]),
    ],
    "text_sentiment": [
        _line(textContent="meh", sentimentAnnotation={"sentiment": 1, "sentimentMax": 4}),
        _line(textGcsUri="gs://b/t.txt", sentimentAnnotation={"sentimentMax": 4}),
    ],
    "video_classification": [
        _line(videoGcsUri="gs://b/v.mp4", timeSegmentAnnotations=[
            {"displayName": "goal", "startTime": "0s", "endTime": "Infinity"},
            {"displayName": "foul", "endTime": "3.25s"}]),
    ],
    "video_action_recognition": [
        _line(videoGcsUri="gs://b/v.mp4", timeSegments=[{"startTime": "0s", "endTime": "10s"}],
              timeSegmentAnnotations=[{"displayName": "jump", "startTime": "2.5s",
                                       "endTime": "2.5s"}]),
    ],
    "video_object_tracking": [
        _line(videoGcsUri="gs://b/v.mp4", temporalBoundingBoxAnnotations=[
            {"displayName": "car", "xMin": 0.1, "xMax": 0.2, "yMin": 0.1, "yMax": 0.2,
             "timeOffset": "1.5s", "instanceId": "7"}]),
    ],
}

ALL_VERTEX = sorted(f.name for f in formats.FORMATS if f.family == formats.VERTEX)


def test_every_vertex_format_has_valid_examples():
    assert sorted(set(DOCUMENTED) | set(EXPORTED)) == ALL_VERTEX


def _valid(name):
    return DOCUMENTED.get(name, []) + EXPORTED.get(name, [])


@pytest.mark.parametrize("name", ALL_VERTEX)
def test_valid_lines_are_accepted_with_and_without_the_type(tmp_path, name):
    lines = _valid(name)
    given = run_split(tmp_path / "given", "\n".join(lines) + "\n", annotation_type=name,
                      policy=SplitPolicy("keep"))
    assert given.rejected() == []
    assert given.manifest["rows"] == {"read": len(lines), "written": len(lines), "rejected": 0}
    assert given.manifest["source"]["annotationType"] == name
    inferred = run_split(tmp_path / "inferred", "\n".join(lines) + "\n",
                         policy=SplitPolicy("keep"))
    assert inferred.manifest["source"]["annotationType"] == name
    assert inferred.manifest["source"]["annotationTypeSource"] == "inferred"


def test_the_schema_uri_names_a_format(tmp_path):
    uri = "gs://google-cloud-aiplatform/schema/dataset/ioformat/image_bounding_box_io_format_1.0.0.yaml"
    assert formats.lookup(uri).name == "image_bounding_box"


def test_ml_use_comes_from_the_data_item_labels(tmp_path):
    lines = [
        _line(imageGcsUri="gs://b/1.jpg", dataItemResourceLabels={ML: "training"}),
        _line(imageGcsUri="gs://b/2.jpg", dataItemResourceLabels={ML: "Validate"}),
        _line(imageGcsUri="gs://b/3.jpg", dataItemResourceLabels={"ml_use": "TEST"}),
        _line(imageGcsUri="gs://b/4.jpg", dataItemResourceLabels={"other": "x"}),
    ]
    run = run_split(tmp_path, "\n".join(lines) + "\n", annotation_type="image_bounding_box",
                    policy=SplitPolicy("keep"))
    assert [json.loads(r)["imageGcsUri"] for r in run.rows("train")] == ["gs://b/1.jpg"]
    assert [json.loads(r)["imageGcsUri"] for r in run.rows("validation")] == ["gs://b/2.jpg"]
    assert [json.loads(r)["imageGcsUri"] for r in run.rows("test")] == ["gs://b/3.jpg"]
    assert [json.loads(r)["imageGcsUri"] for r in run.rows("unassigned")] == ["gs://b/4.jpg"]
    assert run.text("train.jsonl") == lines[0] + "\n"  # copied as it came


def test_an_item_on_several_lines_goes_to_one_split(tmp_path):
    box = {"displayName": "car", "xMin": 0.1, "xMax": 0.5, "yMin": 0.1, "yMax": 0.5}
    lines = [_line(imageGcsUri="gs://b/1.jpg", boundingBoxAnnotations=[box])] * 3 + [
        _line(imageGcsUri="gs://b/1.jpg", boundingBoxAnnotations=[box],
              dataItemResourceLabels={ML: "test"})]
    run = run_split(tmp_path, "\n".join(lines) + "\n", annotation_type="image_bounding_box")
    placed = [s for s in ("train", "validation", "test") if run.rows(s)]
    assert len(placed) == 1 and len(run.rows(placed[0])) == 3 + (placed[0] == "test")
    if placed[0] != "test":
        assert run.reasons() == ["ml_use_conflict"]


def test_inline_texts_are_items_by_content(tmp_path):
    lines = [_line(textContent="same", classificationAnnotation={"displayName": "a"}),
             _line(textContent="same", classificationAnnotation={"displayName": "b"},
                   dataItemResourceLabels={ML: "test"}),
             _line(textContent="other", classificationAnnotation={"displayName": "a"},
                   dataItemResourceLabels={ML: "test"})]
    run = run_split(tmp_path, "\n".join(lines) + "\n",
                    annotation_type="text_classification_single_label",
                    policy=SplitPolicy("keep"))
    assert run.reasons() == ["ml_use_conflict"]
    assert len(run.rows("unassigned")) == 1 and len(run.rows("test")) == 1
    assert run.manifest["splits"]["test"]["items"] == 1


BOX = {"displayName": "car", "xMin": 0.1, "xMax": 0.5, "yMin": 0.1, "yMax": 0.5}

# (format, line, reason, what the detail must name)
BAD = [
    ("image_bounding_box", _line(boundingBoxAnnotations=[BOX]), "missing_field", "imageGcsUri"),
    ("image_bounding_box", _line(videoGcsUri="gs://b/v.mp4"), "wrong_payload", "videoGcsUri"),
    ("image_bounding_box", _line(imageGcsUri="http://b/a.jpg"), "bad_uri", "imageGcsUri"),
    ("image_bounding_box", _line(imageGcsUri="gs://bucket-only"), "bad_uri", "imageGcsUri"),
    ("image_bounding_box", _line(imageGcsUri=""), "missing_uri", "imageGcsUri"),
    ("image_bounding_box", _line(imageGcsUri="gs://b/a.jpg", boundingBoxAnnotations=[
        dict(BOX, xMin=0.5)]), "inverted_box", "boundingBoxAnnotations[0]"),
    ("image_bounding_box", _line(imageGcsUri="gs://b/a.jpg", boundingBoxAnnotations=[
        dict(BOX, yMax=1.5)]), "coordinate_out_of_range", "boundingBoxAnnotations[0].yMax"),
    ("image_bounding_box", _line(imageGcsUri="gs://b/a.jpg", boundingBoxAnnotations=[
        dict(BOX, xMin="left")]), "bad_number", "boundingBoxAnnotations[0].xMin"),
    ("image_bounding_box", _line(imageGcsUri="gs://b/a.jpg", boundingBoxAnnotations=[
        dict(BOX, xMin=True)]), "bad_number", "xMin"),
    ("image_bounding_box", _line(imageGcsUri="gs://b/a.jpg", boundingBoxAnnotations=[
        {k: v for k, v in BOX.items() if k != "yMax"}]), "inverted_box", "yMax 0"),
    ("image_bounding_box", _line(imageGcsUri="gs://b/a.jpg", boundingBoxAnnotations=[
        dict(BOX, displayName="")]), "missing_label", "displayName"),
    ("image_bounding_box", _line(imageGcsUri="gs://b/a.jpg", boundingBoxAnnotations=BOX),
     "missing_field", "boundingBoxAnnotations"),
    ("image_bounding_box", _line(imageGcsUri="gs://b/a.jpg", classificationAnnotation={
        "displayName": "x"}), "wrong_annotation_type", "classificationAnnotation"),
    ("image_bounding_box", _line(imageGcsUri="gs://b/a.jpg",
                                 dataItemResourceLabels={ML: "holdout"}), "unknown_ml_use",
     "holdout"),
    ("image_bounding_box", _line(imageGcsUri="gs://b/a.jpg", dataItemResourceLabels="test"),
     "missing_field", "dataItemResourceLabels"),
    ("image_bounding_box", '["gs://b/a.jpg"]', "invalid_json", "not an object"),
    ("image_bounding_box", '{"imageGcsUri": "gs://b/a.jpg",', "invalid_json", "JSON"),
    ("image_classification_single_label", _line(imageGcsUri="gs://b/a.jpg",
                                                classificationAnnotation={}),
     "missing_label", "classificationAnnotation.displayName"),
    ("image_classification_single_label", _line(imageGcsUri="gs://b/a.jpg",
                                                classificationAnnotations=[]),
     "wrong_annotation_type", "classificationAnnotations"),
    ("image_classification_multi_label", _line(imageGcsUri="gs://b/a.jpg",
                                               classificationAnnotations=[{"displayName": "a"},
                                                                          "b"]),
     "missing_field", "classificationAnnotations[1]"),
    ("image_segmentation", _line(imageGcsUri="gs://b/a.jpg", segmentationAnnotation={
        "categoryMaskGcsUri": "gs://b/m.png", "annotationSpecColors": [
            {"color": {"red": 255}, "displayName": "road"}]}), "color_out_of_range",
     "annotationSpecColors[0].color.red"),
    ("image_segmentation", _line(imageGcsUri="gs://b/a.jpg", segmentationAnnotation={
        "categoryMaskGcsUri": "masks/m.png", "annotationSpecColors": []}), "bad_uri",
     "categoryMaskGcsUri"),
    ("image_segmentation", _line(imageGcsUri="gs://b/a.jpg", segmentationAnnotation={
        "categoryMaskGcsUri": "gs://b/m.png", "annotationSpecColors": [
            {"displayName": "road"}]}), "missing_field", "color"),
    ("image_segmentation", _line(imageGcsUri="gs://b/a.jpg", polygonAnnotation={
        "displayName": "lake", "vertexes": [{"x": 0.1, "y": 0.1}, {"x": 0.5, "y": 0.1}]}),
     "too_few_vertices", "polygonAnnotation"),
    ("image_segmentation", _line(imageGcsUri="gs://b/a.jpg", polylineAnnotation={
        "displayName": "lane", "vertexes": [{"x": 0.1, "y": 2}, {"x": 0.5}]}),
     "coordinate_out_of_range", "polylineAnnotation.vertexes[0].y"),
    ("text_classification_single_label", _line(textContent="x", textGcsUri="gs://b/t.txt"),
     "conflicting_fields", "textContent and textGcsUri"),
    ("text_classification_single_label", _line(classificationAnnotation={"displayName": "a"}),
     "missing_field", "textContent or textGcsUri"),
    ("text_classification_single_label", _line(textGcsUri="/local/t.txt"), "bad_uri",
     "textGcsUri"),
    ("text_classification_single_label", _line(textContent=7), "missing_field", "textContent"),
    ("text_extraction", _line(textContent="Alice", textSegmentAnnotations=[
        {"startOffset": 0, "endOffset": 9, "displayName": "person"}]),
     "offset_out_of_range", "5 characters"),
    ("text_extraction", _line(textContent="Alice", textSegmentAnnotations=[
        {"startOffset": 3, "endOffset": 3, "displayName": "person"}]),
     "offset_out_of_range", "textSegmentAnnotations[0]"),
    ("text_extraction", _line(textContent="Alice", textSegmentAnnotations=[
        {"startOffset": 0.5, "endOffset": 3, "displayName": "person"}]),
     "bad_number", "startOffset"),
    ("text_extraction", _line(textContent="Alice", textSegmentAnnotations=[
        {"startOffset": 0, "displayName": "person"}]), "missing_field", "endOffset"),
    ("text_sentiment", _line(textContent="x", sentimentAnnotation={
        "sentiment": 5, "sentimentMax": 4}), "sentiment_out_of_range", "sentimentMax 4"),
    ("text_sentiment", _line(textContent="x", sentimentAnnotation={
        "sentiment": -1, "sentimentMax": 4}), "sentiment_out_of_range", "sentiment -1"),
    ("text_sentiment", _line(textContent="x", sentimentAnnotation={"sentiment": 1}),
     "missing_field", "sentimentMax"),
    ("video_classification", _line(videoGcsUri="gs://b/v.mp4", timeSegmentAnnotations=[
        {"displayName": "goal", "startTime": "5s", "endTime": "5s"}]), "bad_time_segment",
     "timeSegmentAnnotations[0]"),
    ("video_classification", _line(videoGcsUri="gs://b/v.mp4", timeSegmentAnnotations=[
        {"displayName": "goal", "startTime": "5", "endTime": "6s"}]), "bad_number",
     "startTime"),
    ("video_classification", _line(videoGcsUri="gs://b/v.mp4", timeSegmentAnnotations=[
        {"displayName": "goal", "startTime": "infs"}]), "bad_number", "startTime"),
    ("video_classification", _line(videoGcsUri="gs://b/v.mp4", timeSegmentAnnotations=[
        {"displayName": "goal", "startTime": "1e1s"}]), "bad_number", "startTime"),
    ("video_classification", _line(videoGcsUri="gs://b/v.mp4", timeSegmentAnnotations=[
        {"displayName": "goal", "startTime": "Infinity"}]), "bad_number", "startTime"),
    ("video_classification", _line(videoGcsUri="gs://b/v.mp4", timeSegments=[
        {"startTime": "0s"}]), "wrong_annotation_type", "timeSegments"),
    ("video_action_recognition", _line(videoGcsUri="gs://b/v.mp4", timeSegmentAnnotations=[
        {"displayName": "jump", "startTime": "3s", "endTime": "2s"}]), "bad_time_segment",
     "after endTime"),
    ("video_action_recognition", _line(videoGcsUri="gs://b/v.mp4", timeSegments=[
        {"startTime": "3s", "endTime": "3s"}]), "bad_time_segment", "timeSegments[0]"),
    ("video_object_tracking", _line(videoGcsUri="gs://b/v.mp4", temporalBoundingBoxAnnotations=[
        dict(BOX, timeOffset="1.5")]), "bad_number", "timeOffset"),
    ("video_object_tracking", _line(videoGcsUri="gs://b/v.mp4", temporalBoundingBoxAnnotations=[
        dict(BOX, instanceId="car-1")]), "bad_number", "instanceId"),
    ("video_object_tracking", _line(videoGcsUri="gs://b/v.mp4", temporalBoundingBoxAnnotations=[
        dict(BOX, yMin=0.6)]), "inverted_box", "temporalBoundingBoxAnnotations[0]"),
    ("video_object_tracking", _line(imageGcsUri="gs://b/a.jpg"), "wrong_payload", "imageGcsUri"),
]


@pytest.mark.parametrize(("name", "line", "reason", "named"), BAD,
                         ids=[f"{b[0]}-{b[2]}-{k}" for k, b in enumerate(BAD)])
def test_each_kind_of_bad_line_is_rejected_naming_the_field(tmp_path, name, line, reason,
                                                            named):
    good = _valid(name)[0]
    run = run_split(tmp_path, f"{good}\n{line}\n", annotation_type=name)
    assert run.reasons() == [reason]
    rejected = run.rejected()[0]
    assert rejected["line"] == 2 and rejected["raw"] == line
    assert named in rejected["detail"]
    assert run.manifest["rows"] == {"read": 2, "written": 1, "rejected": 1}


def test_a_vertex_csv_import_file_is_split(tmp_path):
    rows = ("test,gs://bucket/filename1.jpeg,Tomato,0.3,0.3,,,0.7,0.6,,\n"
            "training,gs://bucket/filename2.gif,Tomato,0.8,0.2,,,1.0,0.4,,\n"
            "gs://bucket/filename2.gif\n"
            "validation,gs://bucket/filename4.tiff,Salad,0.1,0.2,,,0.8,0.9,,\n")
    run = run_split(tmp_path, rows, annotation_type="image_bounding_box")
    assert run.rejected() == []
    assert run.rows("test") == ["test,gs://bucket/filename1.jpeg,Tomato,0.3,0.3,,,0.7,0.6,,"]
    assert len(run.rows("train")) == 2  # the negative row of filename2 follows its item


def test_a_single_label_csv_row_has_one_label(tmp_path):
    run = run_split(tmp_path, "gs://b/a.jpg,daisy\ngs://b/b.jpg,daisy,tulip\n",
                    annotation_type="image_classification_single_label")
    assert run.reasons() == ["field_count"]


def test_a_jsonl_only_vertex_format_refuses_csv(tmp_path):
    with pytest.raises(Exception, match="JSONL only"):
        run_split(tmp_path, "gs://b/a.jpg,x\n", annotation_type="text_extraction", fmt="csv")
