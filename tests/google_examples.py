"""Data Labeling Examples built from Google's own v1beta1 classes (google-cloud-datalabeling),
one builder per annotation type, and Google's printers that turn them into JSONL lines.

`google_examples()` gives every type in scope, in each coordinate form its proto allows
(normalized vertices, and integer pixel vertices where the message has them), each with the
data item and labels a reader must find in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.cloud import datalabeling_v1beta1 as dl
from google.protobuf import duration_pb2, json_format
from labelexport import formats

ANNOTATED = "projects/demo-project/datasets/ds/annotatedDatasets/ads"
OPERATOR = dl.AnnotationSource.OPERATOR

# Google's printers, each giving one line: json_format with its default options (and with
# proto field names), and proto-plus, which also prints fields at their default value and enums
# as numbers.
PRINTERS: dict[str, Callable[[dl.Example], str]] = {
    "MessageToJson": lambda m: json_format.MessageToJson(dl.Example.pb(m), indent=None),
    "MessageToJson-proto-names": lambda m: json_format.MessageToJson(
        dl.Example.pb(m), indent=None, preserving_proto_field_name=True),
    "proto-plus-to_json": lambda m: dl.Example.to_json(m, indent=None),
}


@dataclass(frozen=True)
class GoogleExample:
    annotation_type: str
    form: str  # which coordinate form or variant of the type this is
    example: dl.Example
    item: str  # what identifies the example's data item
    labels: tuple[str, ...]  # every label of its annotations, in order

    @property
    def id(self) -> str:
        return f"{self.annotation_type}-{self.form}"


def duration(seconds: float) -> duration_pb2.Duration:
    found = duration_pb2.Duration()
    found.FromNanoseconds(round(seconds * 1e9))
    return found


def spec(label: str) -> dl.AnnotationSpec:
    return dl.AnnotationSpec(display_name=label)


def normalized(*points: tuple[float, float]) -> list[dl.NormalizedVertex]:
    return [dl.NormalizedVertex(x=x, y=y) for x, y in points]


def pixels(*points: tuple[int, int]) -> list[dl.Vertex]:
    return [dl.Vertex(x=x, y=y) for x, y in points]


def example(example_id: str, payload: dict, values: list[dl.AnnotationValue]) -> dl.Example:
    name = f"{ANNOTATED}/examples/{example_id}"
    annotations = [dl.Annotation(name=f"{name}/annotations/a{k}", annotation_source=OPERATOR,
                                 annotation_value=value) for k, value in enumerate(values)]
    return dl.Example(name=name, annotations=annotations, **payload)


def image(uri: str) -> dict:
    return {"image_payload": dl.ImagePayload(mime_type="image/jpeg", image_uri=uri)}


def video(uri: str) -> dict:
    return {"video_payload": dl.VideoPayload(mime_type="video/mp4", video_uri=uri,
                                             frame_rate=25.0)}


def text(content: str) -> dict:
    return {"text_payload": dl.TextPayload(text_content=content)}


def _built(annotation_type: str, form: str, built: dl.Example,
           labels: tuple[str, ...]) -> GoogleExample:
    return GoogleExample(annotation_type, form, built, built.name, labels)


# --------------------------------------------------------------------------- image


def _classification() -> list[GoogleExample]:
    values = [dl.AnnotationValue(image_classification_annotation=dl.ImageClassificationAnnotation(
        annotation_spec=spec(label))) for label in ("tulip", "rose")]
    return [_built("IMAGE_CLASSIFICATION_ANNOTATION", "labels",
                   example("cls1", image("gs://flowers/cls1.jpg"), values), ("tulip", "rose"))]


def bounded_area(form: str, shape: tuple) -> dict:
    """The `bounded_area` oneof of ImageBoundingPolyAnnotation and ObjectTrackingFrame;
    `shape` is (normalized points, pixel points)."""
    if form == "normalized":
        return {"normalized_bounding_poly": dl.NormalizedBoundingPoly(
            normalized_vertices=normalized(*shape[0]))}
    return {"bounding_poly": dl.BoundingPoly(vertices=pixels(*shape[1]))}


def _bounding_poly(annotation_type: str, shapes: list[tuple], labels: tuple[str, ...]
                   ) -> list[GoogleExample]:
    """One Example with normalized vertices, one with pixel vertices."""
    found = []
    for form in ("normalized", "pixel"):
        values = [dl.AnnotationValue(image_bounding_poly_annotation=dl.ImageBoundingPolyAnnotation(
            annotation_spec=spec(label), **bounded_area(form, shape)))
            for label, shape in zip(labels, shapes, strict=True)]
        built = example(f"{annotation_type.lower()}-{form}",
                        image(f"gs://flowers/{form}/{annotation_type.lower()}.jpg"), values)
        found.append(_built(annotation_type, form, built, labels))
    return found


def _boxes() -> list[GoogleExample]:
    return _bounding_poly("IMAGE_BOUNDING_BOX_ANNOTATION", [
        # (normalized, pixel) shapes; 0 coordinates are left out by the default printer
        (((0.0, 0.25), (0.5, 0.75)), ((0, 120), (320, 479))),
        (((0.1, 0.1), (0.9, 0.2), (0.9, 0.6), (0.1, 0.6)),  # all four corners
         ((10, 10), (900, 10), (900, 600), (10, 600))),
    ], ("tulip", "rose"))


def _oriented_boxes() -> list[GoogleExample]:
    return _bounding_poly("IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION", [
        (((0.1, 0.1), (0.3, 0.2), (0.25, 0.5), (0.05, 0.4)),
         ((100, 100), (300, 200), (250, 500), (50, 400))),
    ], ("daisy",))


def _polygons() -> list[GoogleExample]:
    return _bounding_poly("IMAGE_BOUNDING_POLY_ANNOTATION", [
        (((0.1, 0.1), (0.1, 0.2), (0.2, 0.3)), ((0, 0), (0, 20), (2000, 3000))),
        (((0.5, 0.5), (0.7, 0.5), (0.7, 0.7), (0.6, 0.8), (0.5, 0.7)),
         ((50, 50), (70, 50), (70, 70), (60, 80), (50, 70))),
    ], ("iris", "lily"))


def _polylines() -> list[GoogleExample]:
    found = []
    labels = ("stem", "leaf_vein")
    shapes = [(((0.1, 0.0), (0.2, 0.3)), ((10, 0), (20, 30))),
              (((0.4, 0.4), (0.5, 0.45), (0.6, 0.6)), ((40, 40), (50, 45), (60, 60)))]
    for form in ("normalized", "pixel"):
        if form == "normalized":
            polys = [{"normalized_polyline": dl.NormalizedPolyline(
                normalized_vertices=normalized(*shape[0]))} for shape in shapes]
        else:
            polys = [{"polyline": dl.Polyline(vertices=pixels(*shape[1]))} for shape in shapes]
        values = [dl.AnnotationValue(image_polyline_annotation=dl.ImagePolylineAnnotation(
            annotation_spec=spec(label), **poly)) for label, poly in zip(labels, polys,
                                                                        strict=True)]
        built = example(f"polyline-{form}", image(f"gs://flowers/polyline-{form}.jpg"), values)
        found.append(_built("IMAGE_POLYLINE_ANNOTATION", form, built, labels))
    return found


# The mask's bytes (a PNG signature and a little more), printed as base64 by Google's printers.
_MASK = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


def _segmentation() -> list[GoogleExample]:
    value = dl.AnnotationValue(image_segmentation_annotation=dl.ImageSegmentationAnnotation(
        annotation_colors={"rgb(255,0,0)": spec("rose"), "rgb(0,0,255)": spec("iris")},
        mime_type="image/png", image_bytes=_MASK))
    built = example("mask1", image("gs://flowers/mask1.jpg"), [value])
    return [_built("IMAGE_SEGMENTATION_ANNOTATION", "mask", built, ("rose", "iris"))]


# --------------------------------------------------------------------------- video


def _segment(start: float, end: float) -> dl.TimeSegment:
    return dl.TimeSegment(start_time_offset=duration(start), end_time_offset=duration(end))


def _shots() -> list[GoogleExample]:
    values = [dl.AnnotationValue(video_classification_annotation=dl.VideoClassificationAnnotation(
        annotation_spec=spec(label), time_segment=_segment(start, end)))
        for label, start, end in (("wide_shot", 0, 2.5), ("close_up", 2.5, 10.000000001))]
    built = example("shots1", video("gs://wildlife/shots1.mp4"), values)
    return [_built("VIDEO_SHOTS_CLASSIFICATION_ANNOTATION", "segments", built,
                   ("wide_shot", "close_up"))]


def _events() -> list[GoogleExample]:
    values = [dl.AnnotationValue(video_event_annotation=dl.VideoEventAnnotation(
        annotation_spec=spec("feeding"), time_segment=_segment(123, 150.04)))]
    built = example("events1", video("gs://wildlife/events1.mp4"), values)
    return [_built("VIDEO_EVENT_ANNOTATION", "segment", built, ("feeding",))]


_TRACK = [(0.0, (((0.0, 0.1), (0.2, 0.3)), ((0, 72), (256, 216)))),
          (0.04, (((0.01, 0.1), (0.21, 0.3)), ((12, 72), (268, 216)))),
          (1.5, (((0.05, 0.12), (0.25, 0.33)), ((64, 86), (320, 238))))]


def _tracking(annotation_type: str, frames: list) -> list[GoogleExample]:
    found = []
    for form in ("normalized", "pixel"):
        track = dl.VideoObjectTrackingAnnotation(
            annotation_spec=spec("deer"), time_segment=_segment(frames[0][0], frames[-1][0]),
            object_tracking_frames=[
                dl.ObjectTrackingFrame(time_offset=duration(seconds), **bounded_area(form, box))
                for seconds, box in frames])
        value = dl.AnnotationValue(video_object_tracking_annotation=track)
        built = example(f"{annotation_type.lower()}-{form}",
                        video(f"gs://wildlife/{form}/{annotation_type.lower()}.mp4"), [value])
        found.append(_built(annotation_type, form, built, ("deer",)))
    return found


# --------------------------------------------------------------------------- text

_ARTICLE = "Maria Lopez joined Acme Corp in Lisbon on Monday."


def _text_classification() -> list[GoogleExample]:
    values = [dl.AnnotationValue(text_classification_annotation=dl.TextClassificationAnnotation(
        annotation_spec=spec("business")))]
    built = example("topic1", text(_ARTICLE), values)
    unnamed = dl.Example(text_payload=dl.TextPayload(text_content="Rain all week in Oslo."),
                         annotations=[dl.Annotation(annotation_value=dl.AnnotationValue(
                             text_classification_annotation=dl.TextClassificationAnnotation(
                                 annotation_spec=spec("weather"))))])
    return [_built("TEXT_CLASSIFICATION_ANNOTATION", "named", built, ("business",)),
            # no name: the inline text is the data item
            GoogleExample("TEXT_CLASSIFICATION_ANNOTATION", "unnamed", unnamed,
                          "Rain all week in Oslo.", ("weather",))]


def _entities() -> list[GoogleExample]:
    spans = []
    for label, words in (("person", "Maria Lopez"), ("organization", "Acme Corp"),
                         ("location", "Lisbon"), ("date", "Monday")):
        start = _ARTICLE.index(words)
        spans.append((label, start, start + len(words)))
    values = [dl.AnnotationValue(
        text_entity_extraction_annotation=dl.TextEntityExtractionAnnotation(
            annotation_spec=spec(label),
            sequential_segment=dl.SequentialSegment(start=start, end=end)))
        for label, start, end in spans]
    built = example("entities1", text(_ARTICLE), values)
    return [_built("TEXT_ENTITY_EXTRACTION_ANNOTATION", "spans", built,
                   tuple(label for label, *_ in spans))]


_BUILDERS = (_classification, _boxes, _oriented_boxes, _polygons, _polylines, _segmentation,
             _shots, lambda: _tracking("VIDEO_OBJECT_DETECTION_ANNOTATION", _TRACK[1:2]),
             lambda: _tracking("VIDEO_OBJECT_TRACKING_ANNOTATION", _TRACK), _events,
             _text_classification, _entities)


def google_examples() -> list[GoogleExample]:
    """Every annotation type in scope, in each form its proto allows."""
    found = [built for builder in _BUILDERS for built in builder()]
    names = {f.name for f in formats.FORMATS if f.family == formats.DATALABELING}
    missing = names - {e.annotation_type for e in found}
    assert not missing, f"no Google-built example for {sorted(missing)}"
    return found


def parse_example(line: str) -> dl.Example:
    """`line` parsed by Google's parser into an Example, unknown fields refused."""
    message = dl.Example.pb(dl.Example())
    json_format.Parse(line, message, ignore_unknown_fields=False)
    return dl.Example.wrap(message)
