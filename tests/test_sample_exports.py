"""The sample exports: every annotation type, in each format the guide gives it, CSV as the guide
shapes it and JSONL as Google's classes print an Example (one sample in the guide's own form);
deterministic; the dirty ones bad exactly where they say."""

from __future__ import annotations

import base64
import csv
import json
import re
import struct
import zlib
from collections import Counter, defaultdict

import pytest
from google.cloud import datalabeling_v1beta1 as dl
from google.protobuf import json_format
from google_examples import parse_example
from splitting import run_split

from devstack import sample_exports
from devstack.sample_exports import ANNOTATION_TYPES, CATALOG, render_export

PROJECT = "demo-project"
ML_USES = {"TRAIN", "VALIDATION", "TEST", "UNASSIGNED"}
DURATION = re.compile(r"\d+(\.\d{3})?s")
COLOR_KEY = re.compile(r"rgb\((\d{1,3}),(\d{1,3}),(\d{1,3})\)")
PAYLOADS = {"IMAGE": "imagePayload", "VIDEO": "videoPayload", "TEXT": "textPayload"}
VALUE_KEYS = {
    "IMAGE_CLASSIFICATION_ANNOTATION": "imageClassificationAnnotation",
    "IMAGE_BOUNDING_BOX_ANNOTATION": "imageBoundingPolyAnnotation",
    "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION": "imageBoundingPolyAnnotation",
    "IMAGE_BOUNDING_POLY_ANNOTATION": "imageBoundingPolyAnnotation",
    "IMAGE_POLYLINE_ANNOTATION": "imagePolylineAnnotation",
    "IMAGE_SEGMENTATION_ANNOTATION": "imageSegmentationAnnotation",
    "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION": "videoClassificationAnnotation",
    "VIDEO_OBJECT_DETECTION_ANNOTATION": "videoObjectTrackingAnnotation",
    "VIDEO_OBJECT_TRACKING_ANNOTATION": "videoObjectTrackingAnnotation",
    "VIDEO_EVENT_ANNOTATION": "videoEventAnnotation",
    "TEXT_CLASSIFICATION_ANNOTATION": "textClassificationAnnotation",
    "TEXT_ENTITY_EXTRACTION_ANNOTATION": "textEntityExtractionAnnotation",
}
CLEAN = [s for s in CATALOG if not s.dirty]
DIRTY = [s for s in CATALOG if s.dirty]
EXPORTS = [(s, f) for s in CATALOG for f in s.formats]


def _id(value):
    return value.annotated_dataset_id if hasattr(value, "annotated_dataset_id") else str(value)


# --------------------------------------------------------------------------- CSV checks


def _coordinate(text: str) -> float:
    value = float(text)
    assert 0.0 <= value <= 1.0, f"coordinate {text} outside [0, 1]"
    return value


def _check_box(fields: list[str]) -> None:
    """x1,y1,,,x2,y2,, : top-left and bottom-right, the other two corners empty."""
    assert len(fields) == 8 and fields[2:4] == ["", ""] and fields[6:8] == ["", ""], fields
    x1, y1, x2, y2 = (_coordinate(fields[i]) for i in (0, 1, 4, 5))
    assert x1 < x2 and y1 < y2, f"inverted box {fields}"


def _check_points(fields: list[str], minimum: int, exact: int | None = None) -> None:
    assert len(fields) % 4 == 0, f"not x,y plus two empty columns per point: {fields}"
    points = [fields[i:i + 4] for i in range(0, len(fields), 4)]
    for x, y, empty1, empty2 in points:
        _coordinate(x), _coordinate(y)
        assert (empty1, empty2) == ("", "")
    assert len(points) >= minimum and (exact is None or len(points) == exact), fields


def _check_segment(fields: list[str]) -> None:
    assert len(fields) == 3 and fields[0], fields
    start, end = float(fields[1]), float(fields[2])
    assert 0 <= start < end, fields


def check_csv_row(annotation_type: str, fields: list[str]) -> None:
    """AssertionError/ValueError unless `fields` is a row of the guide's layout for the type."""
    assert len(fields) >= 3 and fields[0] in ML_USES, fields
    assert fields[1].startswith("gs://"), fields
    tail = fields[2:]
    if annotation_type in ("IMAGE_CLASSIFICATION_ANNOTATION", "TEXT_CLASSIFICATION_ANNOTATION"):
        assert all(tail), fields
        if annotation_type == "TEXT_CLASSIFICATION_ANNOTATION":
            assert len(tail) == 1, fields
    elif annotation_type == "IMAGE_BOUNDING_BOX_ANNOTATION":
        assert len(fields) == 11 and tail[0], fields
        _check_box(tail[1:])
    elif annotation_type == "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION":
        _check_points(tail[1:], 4, exact=4)
    elif annotation_type == "IMAGE_BOUNDING_POLY_ANNOTATION":
        _check_points(tail[1:], 3)
    elif annotation_type == "IMAGE_POLYLINE_ANNOTATION":
        _check_points(tail[1:], 3)
    elif annotation_type in ("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", "VIDEO_EVENT_ANNOTATION"):
        _check_segment(tail)
    elif annotation_type == "VIDEO_OBJECT_DETECTION_ANNOTATION":
        assert len(fields) == 12 and tail[0] and float(tail[1]) >= 0, fields
        _check_box(tail[2:])
    elif annotation_type == "VIDEO_OBJECT_TRACKING_ANNOTATION":
        assert len(fields) == 13 and tail[0] and tail[1] and float(tail[2]) >= 0, fields
        _check_box(tail[3:])
    else:
        raise AssertionError(f"{annotation_type} has no CSV export")


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(data.decode().splitlines()))


# --------------------------------------------------------------------------- JSONL checks


def _vertices(value: dict) -> list[tuple[float, float]]:
    points = []
    for vertex in value["normalizedVertices"]:
        assert set(vertex) <= {"x", "y"}, vertex
        x, y = vertex.get("x", 0.0), vertex.get("y", 0.0)  # proto3 JSON omits zeros
        assert isinstance(x, float | int) and isinstance(y, float | int), vertex
        assert 0.0 <= x <= 1.0 and 0.0 <= y <= 1.0, vertex
        points.append((x, y))
    return points


def _seconds(duration: str) -> float:
    assert DURATION.fullmatch(duration), duration
    return float(duration[:-1])


def _check_png_mask(image_bytes: str, colors: list[tuple[int, int, int]]) -> None:
    png = base64.b64decode(image_bytes, validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, depth, color_type = struct.unpack(">IIBB", png[16:26])
    assert (depth, color_type) == (8, 2)
    idat_length = struct.unpack(">I", png[33:37])[0]
    raw = zlib.decompress(png[41:41 + idat_length])
    stride = 1 + 3 * width
    pixels = {tuple(raw[r * stride + 1 + 3 * c: r * stride + 4 + 3 * c])
              for r in range(height) for c in range(width)}
    assert set(colors) <= pixels | {(0, 0, 0)}


def check_example(annotation_type: str, example: dict, prefix: str,
                  guide_form: bool = False) -> list[str]:
    """Assert `example` is a proto3-JSON Example of the type (or, `guide_form`, the export
    guide's rendering of one); return its labels."""
    assert example["name"].startswith(prefix + "/examples/")
    payload_key = PAYLOADS[annotation_type.split("_")[0]]
    assert set(example) == {"name", payload_key, "annotations"}, set(example)
    payload = example[payload_key]
    if payload_key == "textPayload":  # TextPayload has textContent alone; the guide adds two
        text_fields = {"textContent", "textUri", "wordCount"} if guide_form else {"textContent"}
        assert set(payload) == text_fields and payload["textContent"], payload
    uri = payload.get("imageUri") or payload.get("videoUri") or payload.get("textUri")
    if payload_key != "textPayload" or guide_form:
        assert uri.startswith("gs://")
    labels = []
    assert example["annotations"]
    for annotation in example["annotations"]:
        assert annotation["name"].startswith(example["name"] + "/annotations/")
        assert annotation["annotationSource"] == "OPERATOR"
        (key, value), = annotation["annotationValue"].items()
        assert key == VALUE_KEYS[annotation_type]
        if annotation_type == "IMAGE_SEGMENTATION_ANNOTATION":
            colors = []
            for color, spec in value["annotationColors"].items():
                found = COLOR_KEY.fullmatch(color)
                assert found and all(int(c) <= 255 for c in found.groups()), color
                colors.append(tuple(int(c) for c in found.groups()))
                labels.append(spec["displayName"])
            assert value["mimeType"] == "IMAGE_PNG"
            _check_png_mask(value["imageBytes"], colors)
            continue
        labels.append(value["annotationSpec"]["displayName"])
        _check_value(annotation_type, value, payload, guide_form)
    return labels


def _check_value(annotation_type: str, value: dict, payload: dict, guide_form: bool) -> None:
    if annotation_type == "IMAGE_BOUNDING_BOX_ANNOTATION":
        (x1, y1), (x2, y2) = _vertices(value["normalizedBoundingPoly"])
        assert x1 < x2 and y1 < y2
    elif annotation_type == "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION":
        assert len(_vertices(value["normalizedBoundingPoly"])) == 4
    elif annotation_type == "IMAGE_BOUNDING_POLY_ANNOTATION":
        assert len(_vertices(value["normalizedBoundingPoly"])) >= 3
    elif annotation_type == "IMAGE_POLYLINE_ANNOTATION":
        assert len(_vertices(value["normalizedPolyline"])) >= 3
    elif annotation_type in ("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", "VIDEO_EVENT_ANNOTATION"):
        segment = value["timeSegment"]
        assert _seconds(segment["startTimeOffset"]) < _seconds(segment["endTimeOffset"])
        assert payload["mimeType"] == "VIDEO_MP4" and payload["frameRate"] > 0
    elif annotation_type in ("VIDEO_OBJECT_DETECTION_ANNOTATION",
                             "VIDEO_OBJECT_TRACKING_ANNOTATION"):
        segment, frames = value["timeSegment"], value["objectTrackingFrames"]
        start, end = _seconds(segment["startTimeOffset"]), _seconds(segment["endTimeOffset"])
        times = [_seconds(f["timeOffset"]) for f in frames]
        if annotation_type == "VIDEO_OBJECT_DETECTION_ANNOTATION":
            assert len(frames) == 1 and start == end == times[0]
        else:
            assert len(frames) >= 2 and times == sorted(times) and (start, end) == (
                times[0], times[-1])
        for frame in frames:
            (x1, y1), (x2, y2) = _vertices(frame["normalizedBoundingPoly"])
            assert x1 < x2 and y1 < y2
    elif annotation_type == "TEXT_ENTITY_EXTRACTION_ANNOTATION":
        if guide_form:
            assert set(value) == {"annotationSpec", "textSegment"}, value
            segment = value["textSegment"]
            start, end = segment.get("startOffset", 0), segment["endOffset"]
        else:
            assert set(value) == {"annotationSpec", "sequentialSegment"}, value
            segment = value["sequentialSegment"]
            start, end = segment.get("start", 0), segment["end"]
        text = payload["textContent"]
        assert isinstance(start, int) and 0 <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip() != ""


def _jsonl(data: bytes) -> list[str]:
    text = data.decode()
    assert text.endswith("\n") and "\r" not in text
    return text.splitlines()


# --------------------------------------------------------------------------- tests


def test_every_annotation_type_has_a_clean_sample():
    names = sample_exports.annotated_dataset_names(PROJECT)
    assert sorted(names) == sorted(ANNOTATION_TYPES)
    for name in names.values():
        assert re.fullmatch(r"projects/demo-project/datasets/[a-z-]+/annotatedDatasets/[a-z-]+",
                            name), name
    dirty = sample_exports.annotated_dataset_names(PROJECT, dirty=True)
    assert {t.split("_")[0] for t in dirty} == {"IMAGE", "VIDEO", "TEXT"}
    assert len({s.annotated_dataset_id for s in CATALOG}) == len(CATALOG)


@pytest.mark.parametrize("sample", CLEAN, ids=_id)
def test_examples_are_realistic(sample):
    examples = sample_exports.generate_examples(sample)
    assert len(examples) >= 200
    uses = Counter(e.ml_use for e in examples)
    assert set(uses) == ML_USES and uses["UNASSIGNED"] > len(examples) / 2
    assert len({e.uri for e in examples}) == len(examples)
    assert 6 <= len({label for e in examples for label in e.labels}) <= 12


@pytest.mark.parametrize(("sample", "export_format"), EXPORTS, ids=_id)
def test_rendering_is_deterministic(sample, export_format):
    first = render_export(sample, PROJECT, export_format)
    sample_exports.generate_examples.cache_clear()
    assert render_export(sample, PROJECT, export_format) == first


@pytest.mark.parametrize("sample", [s for s in CLEAN if "csv" in s.formats], ids=_id)
def test_csv_rows_have_the_guides_layout(sample):
    data = render_export(sample, PROJECT, "csv").data
    assert data.endswith(b"\n") and b"\r" not in data
    rows = _csv_rows(data)
    assert len(rows) >= len(sample_exports.generate_examples(sample))
    ml_use_of = defaultdict(set)
    for fields in rows:
        check_csv_row(sample.annotation_type, fields)
        ml_use_of[fields[1]].add(fields[0])
    assert all(len(uses) == 1 for uses in ml_use_of.values()), "one ML use per data item"


def test_csv_examples_of_the_guide():
    boxes = [s for s in CLEAN if s.annotation_type == "IMAGE_BOUNDING_BOX_ANNOTATION"][0]
    first = render_export(boxes, PROJECT, "csv").lines[0]
    assert re.fullmatch(r"UNASSIGNED,gs://[^,]+,[a-z]+,[0-9.]+,[0-9.]+,,,[0-9.]+,[0-9.]+,,", first)
    polylines = [s for s in CLEAN if s.annotation_type == "IMAGE_POLYLINE_ANNOTATION"][0]
    assert all(len(row) >= 3 + 4 * 3 for row in _csv_rows(render_export(polylines, PROJECT,
                                                                         "csv").data))


@pytest.mark.parametrize("sample", CLEAN, ids=_id)
def test_jsonl_lines_are_proto3_json_examples(sample):
    rendered = render_export(sample, PROJECT, "jsonl")
    counts: Counter[str] = Counter()
    for line in _jsonl(rendered.data):
        labels = check_example(sample.annotation_type, json.loads(line), sample.name(PROJECT),
                               sample.guide_form)
        counts.update(set(labels))
    stats = sample_exports.label_stats(list(sample_exports.generate_examples(sample)))
    assert stats == {label: str(n) for label, n in sorted(counts.items())}


def test_jsonl_leaves_default_values_out():
    boxes = [s for s in CLEAN if s.annotation_type == "IMAGE_BOUNDING_BOX_ANNOTATION"][0]
    text = render_export(boxes, PROJECT, "jsonl").data.decode()
    assert not re.search(r'"[xy]":0(\.0)?[,}]', text)
    assert re.search(r'\{"y":[0-9.]+\}', text), "some box touches the left edge (x omitted)"


@pytest.mark.parametrize("sample", [s for s in CATALOG if not s.guide_form], ids=_id)
def test_jsonl_lines_round_trip_through_googles_example(sample):
    """Google's parser reads every good line into an Example, unknown fields refused, and
    Google's printer gives the very same JSON back."""
    rendered = render_export(sample, PROJECT, "jsonl")
    for number, line in enumerate(rendered.lines, start=1):
        if number in rendered.bad_lines:
            continue
        parsed = parse_example(line)
        assert json.loads(json_format.MessageToJson(dl.Example.pb(parsed))) == json.loads(line)


def test_the_guide_form_sample_is_what_the_guide_shows_and_not_the_proto():
    (guide,) = [s for s in CATALOG if s.guide_form]
    line = render_export(guide, PROJECT, "jsonl").lines[0]
    example = json.loads(line)
    assert {"textUri", "wordCount"} <= set(example["textPayload"])
    assert "textSegment" in example["annotations"][0]["annotationValue"][
        "textEntityExtractionAnnotation"]
    with pytest.raises(json_format.ParseError, match="textUri"):
        parse_example(line)


@pytest.mark.parametrize("sample", [s for s in CATALOG if s.annotation_type ==
                                    "TEXT_ENTITY_EXTRACTION_ANNOTATION" and not s.dirty],
                         ids=_id)
def test_the_validator_accepts_entity_exports_in_both_forms(tmp_path, sample):
    rendered = render_export(sample, PROJECT, "jsonl")
    run = run_split(tmp_path, rendered.data, annotation_type=sample.annotation_type)
    assert run.manifest["rows"] == {"read": sample.example_count,
                                    "written": sample.example_count, "rejected": 0}
    labels = {label for split in run.manifest["splits"].values() for label in split["labels"]}
    assert labels == {label for e in sample_exports.generate_examples(sample) for label in e.labels}


@pytest.mark.parametrize("sample", [s for s in CATALOG if "csv" not in s.formats], ids=_id)
def test_jsonl_only_types_refuse_csv(sample):
    with pytest.raises(ValueError, match="exports only jsonl"):
        render_export(sample, PROJECT, "csv")


@pytest.mark.parametrize(("sample", "export_format"),
                         [(s, f) for s in DIRTY for f in s.formats], ids=_id)
def test_dirty_exports_are_bad_exactly_where_they_say(sample, export_format):
    rendered = render_export(sample, PROJECT, export_format)
    lines = rendered.lines
    assert 4 <= len(rendered.bad_lines) <= 6
    assert len(rendered.bad_lines) / len(lines) > 0.01  # above MAX_REJECT_FRACTION's default
    for number, line in enumerate(lines, start=1):
        reason = rendered.bad_lines.get(number)
        try:
            if export_format == "csv":
                check_csv_row(sample.annotation_type, next(csv.reader([line])))
            else:
                check_example(sample.annotation_type, json.loads(line), sample.name(PROJECT),
                              sample.guide_form)
        except (AssertionError, ValueError, KeyError, TypeError) as error:
            assert reason, f"line {number} is bad but not listed: {error}\n{line[:300]}"
        else:
            assert reason is None, f"line {number} ({reason}) passes the checks:\n{line[:300]}"
