"""Deterministic sample Vertex AI datasets of every import schema, and their exports.

A Vertex dataset holds data items and one or more annotation sets; its export writes one JSON
Lines file per annotation set (the same data item appears in each file that labels it), in the
import format of the dataset's schema: camelCase keys, numbers as JSON numbers, the ML use in
`dataItemResourceLabels["aiplatform.googleapis.com/ml_use"]`, each annotation naming its set in
`annotationResourceLabels`. Video datasets have training and test items only.

A dirty dataset renders like its clean sibling, then has a few lines corrupted on purpose;
`VertexExport.bad_lines` says which (file, 1-based line) and why, with labelexport's reason codes.
Everything derives from the seed and the ids: the same call gives the same bytes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

SAMPLE_BUCKET = "labelexport-vertex-samples"
DEFAULT_SEED = 20240701
ML_USE_LABEL = "aiplatform.googleapis.com/ml_use"
ANNOTATION_SET_LABEL = "aiplatform.googleapis.com/annotation_set_name"
METADATA_SCHEMA = "gs://google-cloud-aiplatform/schema/dataset/metadata/{}_1.0.0.yaml"
IOFORMAT_SCHEMA = "gs://google-cloud-aiplatform/schema/dataset/ioformat/{}_io_format_1.0.0.yaml"

SCHEMAS = (
    "image_classification_single_label", "image_classification_multi_label",
    "image_bounding_box", "image_segmentation",
    "text_classification_single_label", "text_classification_multi_label",
    "text_extraction", "text_sentiment",
    "video_classification", "video_action_recognition", "video_object_tracking",
)
_LABELS = {"image": ("daisy", "tulip", "rose", "sunflower"),
           "text": ("sports", "politics", "science"),
           "video": ("cartwheel", "swing", "jump")}
_WORDS = ("alice", "met", "bob", "in", "paris", "on", "monday", "the", "game", "ended", "late")


def media_of(schema: str) -> str:
    return schema.split("_", 1)[0]


@dataclass(frozen=True)
class VertexSampleDataset:
    dataset_id: str  # numeric, as Vertex AI names datasets
    schema: str
    display_name: str
    items: int
    annotation_sets: tuple[str, ...]
    dirty: bool = False
    large: bool = False  # for timing a realistic export, not for every test

    def name(self, project: str, location: str) -> str:
        return f"projects/{project}/locations/{location}/datasets/{self.dataset_id}"

    @property
    def metadata_schema_uri(self) -> str:
        return METADATA_SCHEMA.format(media_of(self.schema))

    @property
    def ioformat_schema_uri(self) -> str:
        return IOFORMAT_SCHEMA.format(self.schema)


def _catalog() -> tuple[VertexSampleDataset, ...]:
    found = []
    for k, schema in enumerate(SCHEMAS):
        sets = ("labels-a", "labels-b") if k % 2 == 0 else ("labels",)
        for dirty in (False, True):
            found.append(VertexSampleDataset(
                dataset_id=str(4_000_000_000_000_000_000 + 10 * k + dirty),
                schema=schema,
                display_name=f"{schema.replace('_', '-')}{'-dirty' if dirty else ''}",
                items=24, annotation_sets=sets, dirty=dirty))
    found.append(VertexSampleDataset(  # 7,500 items in two sets: 10,000 lines
        dataset_id=str(4_000_000_000_000_000_000 + 900), schema="image_bounding_box",
        display_name="image-bounding-box-10k", items=7_500,
        annotation_sets=("labels-a", "labels-b"), large=True))
    return tuple(found)


CATALOG: tuple[VertexSampleDataset, ...] = _catalog()


def find_dataset(dataset_id: str) -> VertexSampleDataset | None:
    return next((d for d in CATALOG if d.dataset_id == dataset_id), None)


def sample_for(schema: str, dirty: bool = False, large: bool = False) -> VertexSampleDataset:
    return next(d for d in CATALOG if d.schema == schema and d.dirty == dirty
                and d.large == large)


@dataclass
class VertexExport:
    """One rendered export: per annotation set, its lines; and the corrupted lines."""

    files: dict[str, list[str]]  # annotation set -> lines (no line ends)
    bad_lines: dict[tuple[str, int], str] = field(default_factory=dict)

    def text(self, annotation_set: str) -> str:
        return "".join(line + "\n" for line in self.files[annotation_set])


def _ml_use(rng: random.Random, media: str) -> str | None:
    choices = ("training", "test", None) if media == "video" else \
        ("training", "validation", "test", None)
    weights = (6, 3, 1) if media == "video" else (6, 1, 1, 2)
    return rng.choices(choices, weights)[0]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12)))


def _annotations(schema: str, rng: random.Random, labels: tuple[str, ...], text: str | None,
                 set_label: dict) -> dict:
    """The annotation keys of one line of `schema`."""
    label = rng.choice(labels)
    if schema.endswith("classification_single_label"):
        return {"classificationAnnotation": {"displayName": label,
                                             "annotationResourceLabels": set_label}}
    if schema.endswith("classification_multi_label"):
        return {"classificationAnnotations": [
            {"displayName": name, "annotationResourceLabels": set_label}
            for name in rng.sample(labels, rng.randint(1, 2))]}
    if schema == "image_bounding_box":
        boxes = []
        for _ in range(rng.randint(1, 3)):
            x, y = round(rng.uniform(0, 0.6), 4), round(rng.uniform(0, 0.6), 4)
            boxes.append({"displayName": rng.choice(labels), "xMin": x,
                          "xMax": round(x + rng.uniform(0.05, 0.4), 4), "yMin": y,
                          "yMax": round(y + rng.uniform(0.05, 0.4), 4),
                          "annotationResourceLabels": set_label})
        return {"boundingBoxAnnotations": boxes}
    if schema == "image_segmentation":
        return {"segmentationAnnotation": {
            "categoryMaskGcsUri": f"gs://{SAMPLE_BUCKET}/masks/{rng.randrange(10**6)}.png",
            "annotationSpecColors": [
                {"color": {"red": 1.0}, "displayName": labels[0]},
                {"color": {"green": 0.5, "blue": 1.0}, "displayName": label}]}}
    if schema == "text_extraction":
        words = text.split(" ")
        start = sum(len(w) + 1 for w in words[:1])
        return {"textSegmentAnnotations": [
            {"startOffset": start, "endOffset": start + len(words[1]), "displayName": label,
             "annotationResourceLabels": set_label}]}
    if schema == "text_sentiment":
        return {"sentimentAnnotation": {"sentiment": rng.randint(0, 4), "sentimentMax": 4,
                                        "annotationResourceLabels": set_label}}
    start = round(rng.uniform(0, 20), 1)
    if schema == "video_classification":
        return {"timeSegmentAnnotations": [
            {"displayName": label, "startTime": f"{start}s",
             "endTime": rng.choice([f"{start + 5.5}s", "Infinity"]),
             "annotationResourceLabels": set_label}]}
    if schema == "video_action_recognition":
        return {"timeSegments": [{"startTime": "0s", "endTime": "60s"}],
                "timeSegmentAnnotations": [
                    {"displayName": label, "startTime": f"{start}s", "endTime": f"{start}s",
                     "annotationResourceLabels": set_label}]}
    return {"temporalBoundingBoxAnnotations": [
        {"displayName": label, "xMin": 0.1, "xMax": 0.35, "yMin": 0.2, "yMax": 0.6,
         "timeOffset": f"{start + 0.5 * k}s", "instanceId": "1",
         "annotationResourceLabels": set_label} for k in range(3)]}


# How a dirty export is corrupted: (reason, what is done to one parsed line).
_CORRUPTIONS = {
    "image": [("bad_uri", lambda line: line.update(imageGcsUri="https://example.com/a.jpg")),
              ("unknown_ml_use", lambda line: line.update(
                  dataItemResourceLabels={ML_USE_LABEL: "holdout"}))],
    "text": [("conflicting_fields", lambda line: line.update(textGcsUri="gs://b/x.txt",
                                                               textContent="x")),
             ("unknown_ml_use", lambda line: line.update(
                 dataItemResourceLabels={ML_USE_LABEL: "holdout"}))],
    "video": [("missing_field", lambda line: line.pop("videoGcsUri")),
              ("unknown_ml_use", lambda line: line.update(
                  dataItemResourceLabels={ML_USE_LABEL: "holdout"}))],
}


def render_export(dataset: VertexSampleDataset, seed: int = DEFAULT_SEED) -> VertexExport:
    rng = random.Random(f"{seed}/{dataset.dataset_id[:-1]}")  # dirty and clean alike
    media = media_of(dataset.schema)
    labels = _LABELS[media]
    items = []
    for k in range(dataset.items):
        use = _ml_use(rng, media)
        if media == "text" and k % 2:
            data = {"textContent": _text(rng)}
        elif media == "text":
            data = {"textGcsUri": f"gs://{SAMPLE_BUCKET}/text/{k:04d}.txt"}
        else:
            ext = "mp4" if media == "video" else "jpg"
            data = {f"{media}GcsUri": f"gs://{SAMPLE_BUCKET}/{media}/{k:04d}.{ext}"}
        items.append((data, use))
    export = VertexExport(files={})
    for set_index, annotation_set in enumerate(dataset.annotation_sets):
        set_label = {ANNOTATION_SET_LABEL: annotation_set}
        lines = []
        for k, (data, use) in enumerate(items):
            if set_index and k % 3:  # a later set labels every third item only
                continue
            line = dict(data)
            text = data.get("textContent", "alice met bob")  # offsets into a remote text too
            line.update(_annotations(dataset.schema, rng, labels, text, set_label))
            if use is not None:
                line["dataItemResourceLabels"] = {ML_USE_LABEL: use}
            lines.append(line)
        if dataset.dirty:
            for n, (reason, corrupt) in enumerate(_CORRUPTIONS[media]):
                at = 1 + 3 * n + set_index
                corrupt(lines[at])
                export.bad_lines[(annotation_set, at + 1)] = reason
        export.files[annotation_set] = [json.dumps(line) for line in lines]
    return export
