"""Each JSONL annotation type: the guide's examples (made valid JSON) and each kind of bad row."""

import copy
import json

import pytest
from splitting import run_split

NAME = "projects/project_id/datasets/dataset_id/annotatedDatasets/annotated_dataset_id/examples/"
IMAGE = {"mimeType": "IMAGE_PNG", "imageUri": "gs://sample_bucket/image.png"}
VIDEO = {"mimeType": "VIDEO_MP4", "resolution": {"width": 720, "height": 360}, "frameRate": 24}
TEXT = {"textContent": "dummy_text_content", "textUri": "gs://test_bucket/file.txt",
        "wordCount": 1}


def _example(payload_field: str, payload: dict, value: dict, example_id: str = "e1") -> dict:
    return {"name": NAME + example_id, payload_field: payload,
            "annotations": [{"name": NAME + example_id + "/annotations/a1",
                             "annotationValue": value}]}


def _box(vertices):
    return {"normalizedVertices": [{"x": x, "y": y} for x, y in vertices]}


# The guide's examples, corrected: valid JSON, proto3 names; its snake_case keys are kept where
# it used them (image_bounding_poly_annotation, display_name) since a reader accepts both.
SEED_EXAMPLES = {
    "IMAGE_CLASSIFICATION_ANNOTATION": _example("imagePayload", IMAGE, {
        "imageClassificationAnnotation": {"annotationSpec": {"displayName": "tulip"}}}),
    "IMAGE_BOUNDING_BOX_ANNOTATION": _example("imagePayload", IMAGE, {
        "image_bounding_poly_annotation": {
            "annotationSpec": {"displayName": "tulip"},
            "normalizedBoundingPoly": _box([(0.1, 0.2), (0.9, 0.9)])}}),
    "IMAGE_BOUNDING_POLY_ANNOTATION": _example("imagePayload", IMAGE, {
        "image_bounding_poly_annotation": {
            "annotationSpec": {"displayName": "tulip"},
            "normalizedBoundingPoly": _box([(0.1, 0.1), (0.1, 0.2), (0.2, 0.3)])}}),
    "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION": _example("imagePayload", IMAGE, {
        "imageBoundingPolyAnnotation": {
            "annotationSpec": {"displayName": "tulip"},
            "normalizedBoundingPoly": _box([(0.1, 0.1), (0.3, 0.2), (0.25, 0.5), (0.05, 0.4)])}}),
    "IMAGE_POLYLINE_ANNOTATION": _example("imagePayload", IMAGE, {
        "imagePolylineAnnotation": {
            "annotationSpec": {"displayName": "stem"},
            "normalizedPolyline": {"normalizedVertices": [{"x": 0.1}, {"x": 0.2, "y": 0.3}]}}}),
    "IMAGE_SEGMENTATION_ANNOTATION": _example("imagePayload", IMAGE, {
        "imageSegmentationAnnotation": {
            "annotationColors": [
                {"key": "rgb(0,0,255)", "value": {"display_name": "dog"}},
                {"key": "rgb(0,255,0)", "value": {"display_name": "cat"}}],
            "mimeType": "IMAGE_JPEG",
            "imageBytes": "/9j/4AAQSkZJRgABAQAAAQABAAD/2w=="}}),  # the guide's, padded
    "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION": _example("videoPayload", VIDEO, {
        "videoClassificationAnnotation": {
            "timeSegment": {"startTimeOffset": {"seconds": 10},
                            "endTimeOffset": {"seconds": 20}},
            "annotationSpec": {"displayName": "dog"}}}),
    "VIDEO_OBJECT_DETECTION_ANNOTATION": _example("videoPayload", VIDEO, {
        "videoObjectTrackingAnnotation": {
            "annotationSpec": {"displayName": "tulip"},
            "timeSegment": {"startTimeOffset": {"seconds": 10},
                            "endTimeOffset": {"seconds": 10}},
            "objectTrackingFrames": [
                {"normalizedBoundingPoly": _box([(0.2, 0.3), (0.9, 0.5)])}]}}),
    "VIDEO_OBJECT_TRACKING_ANNOTATION": _example("videoPayload", VIDEO, {
        "videoObjectTrackingAnnotation": {
            "annotationSpec": {"displayName": "tulip"},
            "timeSegment": {"startTimeOffset": "10s", "endTimeOffset": "20s"},
            "objectTrackingFrames": [
                {"normalizedBoundingPoly": _box([(0.2, 0.3), (0.9, 0.5)]),
                 "timeOffset": {"nanos": 1000000}},
                {"normalizedBoundingPoly": _box([(0.3, 0.3), (0.5, 0.7)]),
                 "timeOffset": "0.084s"}]}}),
    "VIDEO_EVENT_ANNOTATION": _example("videoPayload", VIDEO, {
        "videoEventAnnotation": {
            "annotationSpec": {"displayName": "Callie"},
            "timeSegment": {"startTimeOffset": {"seconds": "123"},
                            "endTimeOffset": {"seconds": 150}}}}),
    "TEXT_CLASSIFICATION_ANNOTATION": _example("textPayload", TEXT, {
        "textClassificationAnnotation": {"annotationSpec": {"displayName": "news"}}}),
    "TEXT_ENTITY_EXTRACTION_ANNOTATION": _example("textPayload", TEXT, {
        "textEntityExtractionAnnotation": {
            "annotationSpec": {"displayName": "equations"},
            "textSegment": {"startOffset": 10, "endOffset": "18"}}}),
}


def _jsonl(*examples) -> str:
    return "".join(json.dumps(e) + "\n" for e in examples)


@pytest.mark.parametrize("annotation_type", sorted(SEED_EXAMPLES))
def test_guide_example_is_valid_and_copied_as_it_came(tmp_path, annotation_type):
    line = json.dumps(SEED_EXAMPLES[annotation_type])
    run = run_split(tmp_path, line + "\n", annotation_type=annotation_type)
    assert run.manifest["rows"] == {"read": 1, "written": 1, "rejected": 0}, run.rejected()
    assert [r for s in ("train", "validation", "test") for r in run.rows(s)] == [line]


@pytest.mark.parametrize("annotation_type", sorted(SEED_EXAMPLES))
def test_guide_example_type_is_inferred(tmp_path, annotation_type):
    run = run_split(tmp_path, _jsonl(SEED_EXAMPLES[annotation_type]))
    inferred = run.manifest["source"]["annotationType"]
    alike = {"IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION": "IMAGE_BOUNDING_POLY_ANNOTATION"}
    assert inferred == alike.get(annotation_type, annotation_type)
    assert run.manifest["source"]["annotationTypeSource"] == "inferred"


def _broken(annotation_type: str, path: list, value) -> dict:
    example = copy.deepcopy(SEED_EXAMPLES[annotation_type])
    target = example["annotations"][0]["annotationValue"]
    target = next(iter(target.values()))
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return example


BAD_EXAMPLES = [
    ("IMAGE_BOUNDING_BOX_ANNOTATION",
     _broken("IMAGE_BOUNDING_BOX_ANNOTATION", ["normalizedBoundingPoly", "normalizedVertices", 1,
                                               "x"], 1.5),
     "coordinate_out_of_range", "normalizedVertices[1].x is 1.5"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION",
     _broken("IMAGE_BOUNDING_BOX_ANNOTATION", ["normalizedBoundingPoly", "normalizedVertices"],
             [{"x": 0.9, "y": 0.9}, {"x": 0.1, "y": 0.2}]),
     "inverted_box", "top-left (0.9, 0.9)"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION",
     _broken("IMAGE_BOUNDING_BOX_ANNOTATION", ["normalizedBoundingPoly", "normalizedVertices", 0,
                                               "y"], "high"),
     "bad_number", "normalizedVertices[0].y"),
    ("IMAGE_BOUNDING_BOX_ANNOTATION",
     _broken("IMAGE_BOUNDING_BOX_ANNOTATION", ["annotationSpec"], KeyError),
     "missing_label", "displayName"),
    ("IMAGE_BOUNDING_POLY_ANNOTATION",
     _broken("IMAGE_BOUNDING_POLY_ANNOTATION", ["normalizedBoundingPoly", "normalizedVertices"],
             [{"x": 0.1, "y": 0.1}, {"x": 0.2, "y": 0.2}]),
     "too_few_vertices", "at least 3"),
    ("IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION",
     _broken("IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION", ["normalizedBoundingPoly",
                                                        "normalizedVertices", 3], KeyError),
     "too_few_vertices", "exactly 4"),
    ("IMAGE_SEGMENTATION_ANNOTATION",
     _broken("IMAGE_SEGMENTATION_ANNOTATION", ["imageBytes"], "/9j/4AAQSkZJRgABAQAAAQABAAD/2"),
     "bad_base64", "imageBytes"),
    ("IMAGE_SEGMENTATION_ANNOTATION",
     _broken("IMAGE_SEGMENTATION_ANNOTATION", ["annotationColors", 1, "key"], "rgb(0,256,0)"),
     "bad_color_key", "rgb(0,256,0)"),
    ("IMAGE_SEGMENTATION_ANNOTATION",
     _broken("IMAGE_SEGMENTATION_ANNOTATION", ["annotationColors", 0, "key"], "#0000ff"),
     "bad_color_key", "#0000ff"),
    ("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION",
     _broken("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", ["timeSegment", "endTimeOffset"],
             {"seconds": 5}),
     "bad_time_segment", "start 10.0s"),
    ("VIDEO_EVENT_ANNOTATION",
     _broken("VIDEO_EVENT_ANNOTATION", ["timeSegment", "startTimeOffset"], "12 seconds"),
     "bad_number", "startTimeOffset"),
    # The guide's {seconds, nanos} Durations: seconds an int64, nanos an int32 under 1e9.
    ("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION",
     _broken("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", ["timeSegment", "endTimeOffset"],
             {"seconds": 20.5}),
     "bad_number", "endTimeOffset.seconds is not an integer: 20.5"),
    ("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION",
     _broken("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", ["timeSegment", "endTimeOffset"],
             {"seconds": 2 ** 63}),
     "bad_number", "outside the int64 range"),
    ("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION",
     _broken("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", ["timeSegment", "endTimeOffset"],
             {"seconds": 20, "nanos": 1_000_000_000}),
     "bad_number", "nanos is 1000000000"),
    ("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION",
     _broken("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", ["timeSegment", "endTimeOffset"], "infs"),
     "bad_number", "not a duration like"),
    ("VIDEO_OBJECT_TRACKING_ANNOTATION",
     _broken("VIDEO_OBJECT_TRACKING_ANNOTATION", ["objectTrackingFrames"], []),
     "missing_field", "objectTrackingFrames is empty"),
    ("VIDEO_OBJECT_DETECTION_ANNOTATION",
     _broken("VIDEO_OBJECT_DETECTION_ANNOTATION", ["objectTrackingFrames", 0,
                                                   "normalizedBoundingPoly", "normalizedVertices",
                                                   0, "x"], -0.2),
     "coordinate_out_of_range", "objectTrackingFrames[0]"),
    ("TEXT_ENTITY_EXTRACTION_ANNOTATION",
     _broken("TEXT_ENTITY_EXTRACTION_ANNOTATION", ["textSegment", "endOffset"], 40),
     "offset_out_of_range", "within the text's 18 characters"),
    ("TEXT_ENTITY_EXTRACTION_ANNOTATION",
     _broken("TEXT_ENTITY_EXTRACTION_ANNOTATION", ["textSegment", "startOffset"], 3.5),
     "bad_number", "startOffset is not an integer: 3.5"),
    ("TEXT_ENTITY_EXTRACTION_ANNOTATION",
     _broken("TEXT_ENTITY_EXTRACTION_ANNOTATION", ["textSegment", "startOffset"], 18),
     "offset_out_of_range", "[18, 18)"),
    ("TEXT_CLASSIFICATION_ANNOTATION",
     _broken("TEXT_CLASSIFICATION_ANNOTATION", ["annotationSpec", "displayName"], ""),
     "missing_label", "displayName"),
]


@pytest.mark.parametrize(("annotation_type", "example", "reason", "words"), BAD_EXAMPLES)
def test_bad_example_is_rejected(tmp_path, annotation_type, example, reason, words):
    run = run_split(tmp_path, _jsonl(example), annotation_type=annotation_type)
    (rejected,) = run.rejected()
    assert (rejected["reason"], rejected["line"]) == (reason, 1)
    assert words in rejected["detail"]
    assert json.loads(rejected["raw"]) == example


@pytest.mark.parametrize(("line", "reason", "words"), [
    ('{"name": "x", "imagePayload": {}, "annotations": [}', "invalid_json", "not valid JSON"),
    ("[1, 2]", "invalid_json", "not an object"),
    (json.dumps(SEED_EXAMPLES["TEXT_CLASSIFICATION_ANNOTATION"]), "wrong_payload",
     "carry imagePayload; it has textPayload"),
    (json.dumps(SEED_EXAMPLES["IMAGE_BOUNDING_BOX_ANNOTATION"] | {"mlUse": "HOLDOUT"}),
     "unknown_ml_use", "HOLDOUT"),
    (json.dumps({"imagePayload": {"mimeType": "IMAGE_PNG"}}), "missing_field", "no name"),
])
def test_malformed_example_is_rejected(tmp_path, line, reason, words):
    run = run_split(tmp_path, line + "\n", annotation_type="IMAGE_BOUNDING_BOX_ANNOTATION",
                    fmt="jsonl")
    (rejected,) = run.rejected()
    assert rejected["reason"] == reason
    assert words in rejected["detail"]


def test_annotation_of_another_type_is_rejected(tmp_path):
    example = SEED_EXAMPLES["IMAGE_CLASSIFICATION_ANNOTATION"]
    run = run_split(tmp_path, _jsonl(example), annotation_type="IMAGE_BOUNDING_BOX_ANNOTATION")
    (rejected,) = run.rejected()
    assert rejected["reason"] == "wrong_annotation_type"
    assert "imageClassificationAnnotation does not belong" in rejected["detail"]


def test_vertex_ml_use_label_and_negative_example(tmp_path):
    labelled = copy.deepcopy(SEED_EXAMPLES["IMAGE_CLASSIFICATION_ANNOTATION"])
    labelled["dataItemResourceLabels"] = {"aiplatform.googleapis.com/ml_use": "test"}
    negative = {"name": NAME + "neg", "imagePayload": IMAGE, "annotations": []}
    run = run_split(tmp_path, _jsonl(labelled, negative),
                    annotation_type="IMAGE_CLASSIFICATION_ANNOTATION")
    assert run.manifest["rows"]["rejected"] == 0
    assert json.loads(run.rows("test")[0]) == labelled
    assert run.manifest["splits"]["test"]["labels"] == {"tulip": 1}


def test_every_type_has_a_rejection_test():
    covered = {t for t, *_ in BAD_EXAMPLES}
    assert covered >= set(SEED_EXAMPLES) - {"IMAGE_CLASSIFICATION_ANNOTATION",
                                            "IMAGE_POLYLINE_ANNOTATION"}


def test_entity_span_in_the_protos_sequential_segment_form(tmp_path):
    good = copy.deepcopy(SEED_EXAMPLES["TEXT_ENTITY_EXTRACTION_ANNOTATION"])
    value = good["annotations"][0]["annotationValue"]["textEntityExtractionAnnotation"]
    del value["textSegment"]
    value["sequentialSegment"] = {"start": 0, "end": 5}
    bad = copy.deepcopy(good)
    bad["name"] += "-bad"
    bad["annotations"][0]["annotationValue"]["textEntityExtractionAnnotation"][
        "sequentialSegment"]["end"] = 99
    run = run_split(tmp_path, _jsonl(good, bad))
    assert run.manifest["rows"] == {"read": 2, "written": 1, "rejected": 1}
    assert run.reasons() == ["offset_out_of_range"]
