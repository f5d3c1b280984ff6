"""Deterministic sample annotated datasets of every annotation type, and their exports.

The catalog below is what the local Data Labeling server holds. Three datasets carry the data
items (images, videos, news articles); each annotated dataset labels them for one annotation
type. Everything is derived from `seed` and the ids, so the same call gives the same bytes.
`find_sample` also knows `<id>-x<N>`: the same labeling job at N examples (load tests).

A dirty annotated dataset renders like its clean sibling, then has a handful of lines
corrupted on purpose; `RenderedExport.bad_lines` says which (1-based) and why, using the
reason codes of labelexport's validators.

CSV exports follow the guide. JSONL lines are what Google's printer makes of the v1beta1
`Example` message: camelCase names, Durations as "12.500s", fields at their default value (a 0
coordinate or offset) left out, a text payload that is `textContent` alone and entity spans as
`sequentialSegment{start,end}`. One sample (`guide_form`) writes its text examples as the guide
shows them instead: `textPayload.textUri` and `wordCount` beside the text, spans as
`textSegment{startOffset,endOffset}`.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import random
import re
import struct
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache

SAMPLE_BUCKET = "labelexport-samples"
DEFAULT_SEED = 20240123

ANNOTATION_TYPES = (
    "IMAGE_CLASSIFICATION_ANNOTATION",
    "IMAGE_BOUNDING_BOX_ANNOTATION",
    "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION",
    "IMAGE_BOUNDING_POLY_ANNOTATION",
    "IMAGE_POLYLINE_ANNOTATION",
    "IMAGE_SEGMENTATION_ANNOTATION",
    "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION",
    "VIDEO_OBJECT_DETECTION_ANNOTATION",
    "VIDEO_OBJECT_TRACKING_ANNOTATION",
    "VIDEO_EVENT_ANNOTATION",
    "TEXT_CLASSIFICATION_ANNOTATION",
    "TEXT_ENTITY_EXTRACTION_ANNOTATION",
)
JSONL_ONLY_TYPES = frozenset({"IMAGE_SEGMENTATION_ANNOTATION", "TEXT_ENTITY_EXTRACTION_ANNOTATION"})
FORMATS = ("csv", "jsonl")

# Most examples of a labeling job carry no ML use; the rest are spread over the three splits.
_ML_USES = ("UNASSIGNED", "TRAIN", "VALIDATION", "TEST")
_ML_USE_WEIGHTS = (70, 20, 5, 5)


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class SampleDataset:
    """One annotated dataset the local server holds."""

    dataset_id: str
    annotated_dataset_id: str
    annotation_type: str
    display_name: str
    example_count: int
    dirty: bool = False
    guide_form: bool = False  # text examples as the export guide shows them, not the proto

    def dataset_name(self, project: str) -> str:
        return f"projects/{project}/datasets/{self.dataset_id}"

    def name(self, project: str) -> str:
        return f"{self.dataset_name(project)}/annotatedDatasets/{self.annotated_dataset_id}"

    @property
    def formats(self) -> tuple[str, ...]:
        return ("jsonl",) if self.annotation_type in JSONL_ONLY_TYPES else FORMATS


_IMAGES, _VIDEOS, _TEXTS = "flowers", "wildlife-videos", "news-articles"
_DIRTY_SIZE = 60

CATALOG: tuple[SampleDataset, ...] = (
    SampleDataset(_IMAGES, "flowers-classification", "IMAGE_CLASSIFICATION_ANNOTATION",
                  "Flower species", 300),
    SampleDataset(_IMAGES, "flowers-boxes", "IMAGE_BOUNDING_BOX_ANNOTATION",
                  "Flower boxes", 300),
    SampleDataset(_IMAGES, "flowers-boxes-dirty", "IMAGE_BOUNDING_BOX_ANNOTATION",
                  "Flower boxes (with bad rows)", _DIRTY_SIZE, dirty=True),
    SampleDataset(_IMAGES, "flowers-oriented-boxes", "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION",
                  "Flower oriented boxes", 300),
    SampleDataset(_IMAGES, "flowers-polygons", "IMAGE_BOUNDING_POLY_ANNOTATION",
                  "Flower outlines", 300),
    SampleDataset(_IMAGES, "flowers-polylines", "IMAGE_POLYLINE_ANNOTATION",
                  "Stems and veins", 300),
    SampleDataset(_IMAGES, "flowers-segmentation", "IMAGE_SEGMENTATION_ANNOTATION",
                  "Flower masks", 300),
    SampleDataset(_VIDEOS, "wildlife-shots", "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION",
                  "Shot types", 200),
    SampleDataset(_VIDEOS, "wildlife-shots-dirty", "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION",
                  "Shot types (with bad rows)", _DIRTY_SIZE, dirty=True),
    SampleDataset(_VIDEOS, "wildlife-detection", "VIDEO_OBJECT_DETECTION_ANNOTATION",
                  "Animal sightings", 200),
    SampleDataset(_VIDEOS, "wildlife-tracking", "VIDEO_OBJECT_TRACKING_ANNOTATION",
                  "Animal tracks", 200),
    SampleDataset(_VIDEOS, "wildlife-events", "VIDEO_EVENT_ANNOTATION",
                  "Animal behaviour", 200),
    SampleDataset(_TEXTS, "news-topics", "TEXT_CLASSIFICATION_ANNOTATION",
                  "Article topics", 300),
    SampleDataset(_TEXTS, "news-entities", "TEXT_ENTITY_EXTRACTION_ANNOTATION",
                  "Named entities", 300),
    SampleDataset(_TEXTS, "news-entities-dirty", "TEXT_ENTITY_EXTRACTION_ANNOTATION",
                  "Named entities (with bad lines)", _DIRTY_SIZE, dirty=True),
    SampleDataset(_TEXTS, "news-entities-guide", "TEXT_ENTITY_EXTRACTION_ANNOTATION",
                  "Named entities (as the export guide writes them)", 200, guide_form=True),
)


def annotated_dataset_names(project: str, *, dirty: bool = False) -> dict[str, str]:
    """Annotation type -> annotated dataset name: the clean one per type, or the dirty ones."""
    return {s.annotation_type: s.name(project) for s in CATALOG
            if s.dirty == dirty and not s.guide_form}


# `<catalog id>-x<N>` names the same labeling job at N examples, for load tests and latency
# measurements (e.g. flowers-classification-x10000: a 10,000-row CSV export).
_SCALED_ID = re.compile(r"(?P<base>.+)-x(?P<count>[1-9][0-9]{0,6})")
MAX_SCALED_EXAMPLES = 1_000_000


def find_sample(dataset_id: str, annotated_dataset_id: str) -> SampleDataset | None:
    """The catalog's annotated dataset, or a scaled variant of one (`<id>-x<N>`), or None."""
    for sample in CATALOG:
        if (sample.dataset_id, sample.annotated_dataset_id) == (dataset_id, annotated_dataset_id):
            return sample
    scaled = _SCALED_ID.fullmatch(annotated_dataset_id)
    if scaled is None or int(scaled["count"]) > MAX_SCALED_EXAMPLES:
        return None
    for sample in CATALOG:
        if (sample.dataset_id, sample.annotated_dataset_id) == (dataset_id, scaled["base"]):
            return replace(sample, annotated_dataset_id=annotated_dataset_id,
                           display_name=f"{sample.display_name} ({scaled['count']} examples)",
                           example_count=int(scaled["count"]))
    return None


# --------------------------------------------------------------------------- model

Point = tuple[float, float]


@dataclass(frozen=True)
class Frame:
    time_ms: int
    box: tuple[Point, Point]  # top-left, bottom-right


@dataclass(frozen=True)
class Annotation:
    annotation_id: str
    label: str = ""
    vertices: tuple[Point, ...] = ()  # box (2), oriented box (4), polygon (3+), polyline (3+)
    segment_ms: tuple[int, int] | None = None  # video classification / event, end exclusive
    frames: tuple[Frame, ...] = ()  # video detection (1) / tracking (2+)
    instance_id: str = ""
    text_span: tuple[int, int] | None = None  # [start, end) in the example's text
    colors: tuple[tuple[str, str], ...] = ()  # segmentation: ("rgb(r,g,b)", label)
    mask_png: bytes = b""

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for _, label in self.colors) if self.colors else (self.label,)


@dataclass(frozen=True)
class Example:
    example_id: str
    uri: str
    ml_use: str
    annotations: tuple[Annotation, ...]
    text: str = ""
    frame_rate: float = 0.0

    @property
    def labels(self) -> set[str]:
        return {label for a in self.annotations for label in a.labels}


@dataclass(frozen=True)
class RenderedExport:
    data: bytes
    content_type: str
    bad_lines: dict[int, str] = field(default_factory=dict)  # 1-based line -> reason code

    @property
    def lines(self) -> list[str]:
        return self.data.decode().splitlines()


def label_stats(examples: list[Example]) -> dict[str, str]:
    """LabelStats.exampleCount as proto3 JSON: label -> number of examples, as a string."""
    counts = Counter(label for example in examples for label in example.labels)
    return {label: str(counts[label]) for label in sorted(counts)}


# --------------------------------------------------------------------------- data items

_FLOWERS = ("tulip", "rose", "daisy", "sunflower", "dandelion", "lily", "orchid", "iris",
            "peony", "lavender", "marigold", "poppy")
_LINE_LABELS = ("stem", "leaf_vein", "branch", "tendril", "root", "petal_edge", "sepal_edge",
                "flower_stalk")
_SHOTS = ("close_up", "wide_shot", "aerial", "underwater", "night_vision", "tracking_shot",
          "static_shot", "time_lapse", "slow_motion", "handheld", "macro", "drone")
_ANIMALS = ("deer", "fox", "bear", "wolf", "eagle", "owl", "rabbit", "boar", "badger",
            "heron", "otter", "lynx")
_BEHAVIOURS = ("feeding", "hunting", "grooming", "nesting", "courtship", "fighting",
               "taking_off", "landing", "swimming", "resting", "calling", "playing")
_TOPICS = ("sports", "politics", "business", "technology", "science", "health",
           "entertainment", "travel", "weather", "education", "environment", "finance")
_FRAME_RATES = (24.0, 25.0, 30.0)


def _ml_use(rng: random.Random) -> str:
    return rng.choices(_ML_USES, _ML_USE_WEIGHTS)[0]


def _item_rng(seed: int, dataset_id: str, index: int) -> random.Random:
    return random.Random(f"{seed}/{dataset_id}/{index}")


def _r4(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 4)


def _box(rng: random.Random) -> tuple[Point, Point]:
    """A box with x1 < x2 and y1 < y2; one in twenty touches an image edge (a 0 or 1)."""
    w, h = rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.4)
    x1, y1 = _r4(rng.uniform(0.0, 1.0 - w)), _r4(rng.uniform(0.0, 1.0 - h))
    if rng.random() < 0.05:
        x1 = 0.0
    if rng.random() < 0.05:
        y1 = 0.0
    return (x1, y1), (_r4(x1 + w), _r4(y1 + h))


def _oriented_box(rng: random.Random) -> tuple[Point, ...]:
    cx, cy = rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75)
    hw, hh = rng.uniform(0.04, 0.14), rng.uniform(0.04, 0.14)
    angle = rng.uniform(0.0, math.pi / 2)
    cos, sin = math.cos(angle), math.sin(angle)
    corners = ((-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh))
    return tuple((_r4(cx + dx * cos - dy * sin), _r4(cy + dx * sin + dy * cos))
                 for dx, dy in corners)


def _polygon(rng: random.Random) -> tuple[Point, ...]:
    """A star-shaped (so simple) polygon of 3 to 8 vertices, in angle order."""
    cx, cy, radius = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.18)
    angles = sorted(rng.uniform(0.0, 2 * math.pi) for _ in range(rng.randint(3, 8)))
    points = []
    for angle in angles:
        r = radius * rng.uniform(0.5, 1.0)
        points.append((_r4(cx + r * math.cos(angle)), _r4(cy + r * math.sin(angle))))
    return tuple(points)


def _polyline(rng: random.Random) -> tuple[Point, ...]:
    x, y = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)
    heading = rng.uniform(0.0, 2 * math.pi)
    points = [(_r4(x), _r4(y))]
    for _ in range(rng.randint(2, 5)):
        heading += rng.uniform(-0.6, 0.6)
        step = rng.uniform(0.04, 0.15)
        x, y = min(max(x + step * math.cos(heading), 0.0), 1.0), \
            min(max(y + step * math.sin(heading), 0.0), 1.0)
        points.append((_r4(x), _r4(y)))
    return tuple(points)


def _drift(box: tuple[Point, Point], rng: random.Random) -> tuple[Point, Point]:
    (x1, y1), (x2, y2) = box
    dx = max(-x1, min(1.0 - x2, rng.uniform(-0.04, 0.04)))
    dy = max(-y1, min(1.0 - y2, rng.uniform(-0.04, 0.04)))
    return (_r4(x1 + dx), _r4(y1 + dy)), (_r4(x2 + dx), _r4(y2 + dy))


# --------------------------------------------------------------------------- PNG masks

_MASK_SIZE = (32, 24)


def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG; `rows` are width*3 bytes each."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _label_color(label: str) -> tuple[int, int, int]:
    hue = _FLOWERS.index(label) / len(_FLOWERS)
    r, g, b = (int(255 * (0.5 + 0.5 * math.cos(2 * math.pi * (hue + k / 3)))) for k in range(3))
    return r or 1, g, b  # never rgb(0,0,0): that is the background


def _mask(rng: random.Random, labels: list[str]) -> tuple[tuple[tuple[str, str], ...], bytes]:
    """A mask with one ellipse per label, each in its own vertical band (so none is hidden)."""
    width, height = _MASK_SIZE
    pixels = [[(0, 0, 0)] * width for _ in range(height)]
    colors = []
    band = width / len(labels)
    for k, label in enumerate(labels):
        color = _label_color(label)
        colors.append((f"rgb({color[0]},{color[1]},{color[2]})", label))
        rx, ry = rng.uniform(1.5, band / 2), rng.uniform(2, height / 2 - 1)
        cx, cy = (k + 0.5) * band, rng.uniform(ry, height - ry)
        for y in range(height):
            for x in range(width):
                if ((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2 <= 1.0:
                    pixels[y][x] = color
    rows = [bytes(channel for pixel in row for channel in pixel) for row in pixels]
    return tuple(colors), _png(width, height, rows)


# --------------------------------------------------------------------------- texts

_PEOPLE = ("Maria Lopez", "Chen Wei", "Amara Okafor", "John Smith", "Priya Nair",
           "Lars Jensen", "Fatima Haddad", "Kenji Sato", "Elena Petrova", "Tom Baker")
_ORGANIZATIONS = ("Acme Corp", "Northwind Bank", "the City Council", "Helios Labs",
                  "Riverside University", "Global Motors", "the Weather Service",
                  "the National Museum")
_LOCATIONS = ("Lisbon", "Nairobi", "Osaka", "Toronto", "Berlin", "Lima", "Melbourne", "Oslo")
_DATES = ("Monday", "March 3", "Friday", "June 21", "1 May 2019", "New Year's Day",
          "Tuesday", "October 12")
_MONEY = ("$2 million", "EUR 450,000", "$15 billion", "GBP 30 million")
_PRODUCTS = ("the Aurora tablet", "SolarMax panels", "the Model X5", "the Nimbus app")
_SUBJECTS = {
    "sports": "the team won the final after extra time",
    "politics": "the new coalition will vote on the budget",
    "business": "quarterly profits rose above expectations",
    "technology": "the company will ship a faster chip",
    "science": "researchers observed a new exoplanet",
    "health": "the vaccine trial reached its second phase",
    "entertainment": "the film opened to record audiences",
    "travel": "flights to the coast will resume",
    "weather": "a storm is expected to bring heavy rain",
    "education": "schools will extend the reading programme",
    "environment": "the river clean-up removed tonnes of plastic",
    "finance": "interest rates will stay unchanged",
}
# Sentence templates: plain text and {slot}s, each slot an entity of that label.
_SENTENCES = (
    "{person} of {organization} said in {location} on {date} that {subject}.",
    "On {date}, {organization} announced {money} for {product}.",
    "{person} told reporters in {location} that {subject}.",
    "According to {organization}, {subject}.",
    "{person} expects {product} to sell well in {location} by {date}.",
)
_SLOTS = {"person": _PEOPLE, "organization": _ORGANIZATIONS, "location": _LOCATIONS,
          "date": _DATES, "money": _MONEY, "product": _PRODUCTS}


def _article(rng: random.Random, topic: str) -> tuple[str, list[tuple[int, int, str]]]:
    """A short news text about `topic` and its entity spans (start, end, label)."""
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    offset = 0
    for _ in range(rng.randint(2, 4)):
        template = rng.choice(_SENTENCES)
        sentence_start = offset
        for k, piece in enumerate(template.replace("}", "{").split("{")):
            if k % 2 == 0:
                text = piece
            elif piece == "subject":
                text = _SUBJECTS[topic]
            else:
                text = rng.choice(_SLOTS[piece])
                spans.append((offset, offset + len(text), piece))
            if text and offset == sentence_start:
                text = text[0].upper() + text[1:]
            parts.append(text)
            offset += len(text)
        parts.append(" ")
        offset += 1
    return "".join(parts).rstrip(), spans


# --------------------------------------------------------------------------- examples


@lru_cache(maxsize=64)
def generate_examples(sample: SampleDataset, seed: int = DEFAULT_SEED) -> tuple[Example, ...]:
    make = _EXAMPLE_MAKERS[sample.annotation_type]
    examples = []
    for index in range(sample.example_count):
        item_rng = _item_rng(seed, sample.dataset_id, index)
        rng = random.Random(f"{seed}/{sample.annotated_dataset_id}/{index}")
        examples.append(make(index, item_rng, rng))
    return tuple(examples)


def _ids(index: int, count: int) -> list[str]:
    return [f"{index:05d}{k:02d}" for k in range(count)]


def _image(index: int, item_rng: random.Random, annotations: list[Annotation]) -> Example:
    return Example(f"{index:06d}", f"gs://{SAMPLE_BUCKET}/flowers/images/img_{index:05d}.jpg",
                   _ml_use(item_rng), tuple(annotations))


def _classification(index: int, item_rng: random.Random, rng: random.Random) -> Example:
    labels = rng.sample(_FLOWERS, 2 if rng.random() < 0.15 else 1)
    ids = _ids(index, len(labels))
    annotations = [Annotation(i, label) for i, label in zip(ids, labels, strict=True)]
    return _image(index, item_rng, annotations)


def _shapes(make: Callable[[random.Random], tuple[Point, ...]], labels: tuple[str, ...],
            most: int) -> Callable[[int, random.Random, random.Random], Example]:
    def example(index: int, item_rng: random.Random, rng: random.Random) -> Example:
        ids = _ids(index, rng.randint(1, most))
        return _image(index, item_rng,
                      [Annotation(i, rng.choice(labels), make(rng)) for i in ids])
    return example


def _segmentation(index: int, item_rng: random.Random, rng: random.Random) -> Example:
    labels = rng.sample(_FLOWERS, rng.randint(1, 3))
    colors, png = _mask(rng, labels)
    return _image(index, item_rng, [Annotation(_ids(index, 1)[0], colors=colors, mask_png=png)])


def _video(index: int, item_rng: random.Random) -> tuple[str, str, float, int]:
    uri = f"gs://{SAMPLE_BUCKET}/wildlife/videos/clip_{index:04d}.mp4"
    frame_rate = item_rng.choice(_FRAME_RATES)
    duration_ms = item_rng.randint(20, 180) * 1000
    return uri, _ml_use(item_rng), frame_rate, duration_ms


def _frame_ms(frame: int, frame_rate: float) -> int:
    return round(frame * 1000 / frame_rate)


def _segments(labels: tuple[str, ...]) -> Callable[[int, random.Random, random.Random], Example]:
    """Video classification / event: 1-4 labelled segments in time order."""

    def example(index: int, item_rng: random.Random, rng: random.Random) -> Example:
        uri, ml_use, frame_rate, duration_ms = _video(index, item_rng)
        count = rng.randint(1, 4)
        cuts = sorted(rng.sample(range(1, duration_ms // 100), 2 * count))
        annotations = []
        for k, annotation_id in enumerate(_ids(index, count)):
            start, end = cuts[2 * k] * 100, cuts[2 * k + 1] * 100
            if rng.random() < 0.1 and k == 0:
                start = 0
            annotations.append(Annotation(annotation_id, rng.choice(labels),
                                          segment_ms=(start, end)))
        return Example(f"{index:06d}", uri, ml_use, tuple(annotations), frame_rate=frame_rate)

    return example


def _detection(index: int, item_rng: random.Random, rng: random.Random) -> Example:
    uri, ml_use, frame_rate, duration_ms = _video(index, item_rng)
    frame_count = int(duration_ms * frame_rate / 1000)
    annotations = []
    for annotation_id in _ids(index, rng.randint(1, 5)):
        time_ms = _frame_ms(rng.randrange(frame_count), frame_rate)
        annotations.append(Annotation(annotation_id, rng.choice(_ANIMALS),
                                      frames=(Frame(time_ms, _box(rng)),)))
    return Example(f"{index:06d}", uri, ml_use, tuple(annotations), frame_rate=frame_rate)


def _tracking(index: int, item_rng: random.Random, rng: random.Random) -> Example:
    uri, ml_use, frame_rate, duration_ms = _video(index, item_rng)
    frame_count = int(duration_ms * frame_rate / 1000)
    annotations = []
    for instance, annotation_id in enumerate(_ids(index, rng.randint(1, 3)), start=1):
        step = int(frame_rate * rng.choice((0.5, 1.0)))
        first = rng.randrange(frame_count - 8 * step)
        box = _box(rng)
        frames = []
        for k in range(rng.randint(2, 8)):
            frames.append(Frame(_frame_ms(first + k * step, frame_rate), box))
            box = _drift(box, rng)
        annotations.append(Annotation(annotation_id, rng.choice(_ANIMALS), frames=tuple(frames),
                                      instance_id=str(instance)))
    return Example(f"{index:06d}", uri, ml_use, tuple(annotations), frame_rate=frame_rate)


@dataclass(frozen=True)
class _Article:
    uri: str
    ml_use: str
    topic: str
    text: str
    spans: list[tuple[int, int, str]]


def _article_item(index: int, item_rng: random.Random) -> _Article:
    uri = f"gs://{SAMPLE_BUCKET}/news/articles/article_{index:05d}.txt"
    ml_use = _ml_use(item_rng)
    topic = item_rng.choice(_TOPICS)
    text, spans = _article(item_rng, topic)
    return _Article(uri, ml_use, topic, text, spans)


def _text_classification(index: int, item_rng: random.Random, rng: random.Random) -> Example:
    item = _article_item(index, item_rng)
    annotation = Annotation(_ids(index, 1)[0], item.topic)
    return Example(f"{index:06d}", item.uri, item.ml_use, (annotation,), item.text)


def _entities(index: int, item_rng: random.Random, rng: random.Random) -> Example:
    item = _article_item(index, item_rng)
    ids = _ids(index, len(item.spans))
    annotations = tuple(Annotation(i, label, text_span=(start, end))
                        for i, (start, end, label) in zip(ids, item.spans, strict=True))
    return Example(f"{index:06d}", item.uri, item.ml_use, annotations, item.text)


_EXAMPLE_MAKERS: dict[str, Callable[[int, random.Random, random.Random], Example]] = {
    "IMAGE_CLASSIFICATION_ANNOTATION": _classification,
    "IMAGE_BOUNDING_BOX_ANNOTATION": _shapes(_box, _FLOWERS, 4),
    "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION": _shapes(_oriented_box, _FLOWERS, 3),
    "IMAGE_BOUNDING_POLY_ANNOTATION": _shapes(_polygon, _FLOWERS, 3),
    "IMAGE_POLYLINE_ANNOTATION": _shapes(_polyline, _LINE_LABELS, 3),
    "IMAGE_SEGMENTATION_ANNOTATION": _segmentation,
    "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION": _segments(_SHOTS),
    "VIDEO_OBJECT_DETECTION_ANNOTATION": _detection,
    "VIDEO_OBJECT_TRACKING_ANNOTATION": _tracking,
    "VIDEO_EVENT_ANNOTATION": _segments(_BEHAVIOURS),
    "TEXT_CLASSIFICATION_ANNOTATION": _text_classification,
    "TEXT_ENTITY_EXTRACTION_ANNOTATION": _entities,
}


# --------------------------------------------------------------------------- CSV


def _number(value: float) -> str:
    return repr(value)


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}".rstrip("0").rstrip(".")


def _box_fields(box: tuple[Point, ...]) -> list[str]:
    """Top-left, then top-right left empty, bottom-right, bottom-left left empty."""
    (x1, y1), (x2, y2) = box
    return [_number(x1), _number(y1), "", "", _number(x2), _number(y2), "", ""]


def _point_fields(points: tuple[Point, ...]) -> list[str]:
    return [text for x, y in points for text in (_number(x), _number(y), "", "")]


_CSV_TAILS: dict[str, Callable[[Annotation], list[list[str]]]] = {
    "IMAGE_BOUNDING_BOX_ANNOTATION": lambda a: [[a.label, *_box_fields(a.vertices)]],
    "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION": lambda a: [[a.label, *_point_fields(a.vertices)]],
    "IMAGE_BOUNDING_POLY_ANNOTATION": lambda a: [[a.label, *_point_fields(a.vertices)]],
    "IMAGE_POLYLINE_ANNOTATION": lambda a: [[a.label, *_point_fields(a.vertices)]],
    "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION":
        lambda a: [[a.label, _seconds(a.segment_ms[0]), _seconds(a.segment_ms[1])]],
    "VIDEO_EVENT_ANNOTATION":
        lambda a: [[a.label, _seconds(a.segment_ms[0]), _seconds(a.segment_ms[1])]],
    "VIDEO_OBJECT_DETECTION_ANNOTATION":
        lambda a: [[a.label, _seconds(f.time_ms), *_box_fields(f.box)] for f in a.frames],
    "VIDEO_OBJECT_TRACKING_ANNOTATION":
        lambda a: [[a.label, a.instance_id, _seconds(f.time_ms), *_box_fields(f.box)]
                   for f in a.frames],
    "TEXT_CLASSIFICATION_ANNOTATION": lambda a: [[a.label]],
}


def csv_rows(example: Example, annotation_type: str) -> list[list[str]]:
    """The export's rows for one example: one per annotation (per frame for tracking);
    image classification puts all of an example's labels on one row."""
    head = [example.ml_use, example.uri]
    if annotation_type == "IMAGE_CLASSIFICATION_ANNOTATION":
        return [head + [a.label for a in example.annotations]]
    tail = _CSV_TAILS[annotation_type]
    return [head + fields for a in example.annotations for fields in tail(a)]


# --------------------------------------------------------------------------- JSONL


def _duration(ms: int) -> str:
    """A google.protobuf.Duration in proto3 JSON: "12s", "12.500s"."""
    seconds, millis = divmod(ms, 1000)
    return f"{seconds}.{millis:03d}s" if millis else f"{seconds}s"


def _vertices(points: tuple[Point, ...]) -> dict:
    # proto3 JSON leaves fields at their default out: a 0 coordinate is absent.
    vertices = [{k: v for k, v in (("x", x), ("y", y)) if v} for x, y in points]
    return {"normalizedVertices": vertices}


def _spec(label: str) -> dict:
    return {"displayName": label}


def _time_segment(start_ms: int, end_ms: int) -> dict:
    return {"startTimeOffset": _duration(start_ms), "endTimeOffset": _duration(end_ms)}


def _tracking_value(a: Annotation) -> dict:
    frames = [{"normalizedBoundingPoly": _vertices(f.box), "timeOffset": _duration(f.time_ms)}
              for f in a.frames]
    return {"annotationSpec": _spec(a.label),
            "timeSegment": _time_segment(a.frames[0].time_ms, a.frames[-1].time_ms),
            "objectTrackingFrames": frames}


def _entity_value(a: Annotation, guide_form: bool) -> dict:
    start, end = a.text_span
    if not guide_form:
        segment = {k: v for k, v in (("start", start), ("end", end)) if v}
        return {"annotationSpec": _spec(a.label), "sequentialSegment": segment}
    segment = {k: v for k, v in (("startOffset", start), ("endOffset", end)) if v}
    return {"annotationSpec": _spec(a.label), "textSegment": segment}


def _annotation_value(a: Annotation, annotation_type: str, guide_form: bool) -> dict:
    spec = _spec(a.label)
    kind = annotation_type
    if kind == "IMAGE_CLASSIFICATION_ANNOTATION":
        return {"imageClassificationAnnotation": {"annotationSpec": spec}}
    if kind in ("IMAGE_BOUNDING_BOX_ANNOTATION", "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION",
                "IMAGE_BOUNDING_POLY_ANNOTATION"):
        return {"imageBoundingPolyAnnotation": {
            "annotationSpec": spec, "normalizedBoundingPoly": _vertices(a.vertices)}}
    if kind == "IMAGE_POLYLINE_ANNOTATION":
        return {"imagePolylineAnnotation": {
            "annotationSpec": spec, "normalizedPolyline": _vertices(a.vertices)}}
    if kind == "IMAGE_SEGMENTATION_ANNOTATION":
        return {"imageSegmentationAnnotation": {
            "annotationColors": {key: _spec(label) for key, label in a.colors},
            "mimeType": "IMAGE_PNG",
            "imageBytes": base64.b64encode(a.mask_png).decode()}}
    if kind == "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION":
        return {"videoClassificationAnnotation": {
            "timeSegment": _time_segment(*a.segment_ms), "annotationSpec": spec}}
    if kind == "VIDEO_EVENT_ANNOTATION":
        return {"videoEventAnnotation": {
            "annotationSpec": spec, "timeSegment": _time_segment(*a.segment_ms)}}
    if kind in ("VIDEO_OBJECT_DETECTION_ANNOTATION", "VIDEO_OBJECT_TRACKING_ANNOTATION"):
        return {"videoObjectTrackingAnnotation": _tracking_value(a)}
    if kind == "TEXT_CLASSIFICATION_ANNOTATION":
        return {"textClassificationAnnotation": {"annotationSpec": spec}}
    if kind == "TEXT_ENTITY_EXTRACTION_ANNOTATION":
        return {"textEntityExtractionAnnotation": _entity_value(a, guide_form)}
    raise ValueError(f"unknown annotation type {annotation_type!r}")


def _payload(example: Example, annotation_type: str, guide_form: bool) -> tuple[str, dict]:
    if annotation_type.startswith("IMAGE_"):
        return "imagePayload", {"mimeType": "IMAGE_JPEG", "imageUri": example.uri}
    if annotation_type.startswith("VIDEO_"):
        return "videoPayload", {"mimeType": "VIDEO_MP4", "videoUri": example.uri,
                                "frameRate": example.frame_rate}
    if guide_form:
        return "textPayload", {"textContent": example.text, "textUri": example.uri,
                               "wordCount": len(example.text.split())}
    return "textPayload", {"textContent": example.text}


def example_json(example: Example, sample: SampleDataset, project: str) -> dict:
    """One Example as proto3 JSON (no ML use: the JSONL export carries none)."""
    name = f"{sample.name(project)}/examples/{example.example_id}"
    payload_key, payload = _payload(example, sample.annotation_type, sample.guide_form)
    annotations = [{
        "name": f"{name}/annotations/{a.annotation_id}",
        "annotationSource": "OPERATOR",
        "annotationValue": _annotation_value(a, sample.annotation_type, sample.guide_form),
    } for a in example.annotations]
    return {"name": name, payload_key: payload, "annotations": annotations}


def _json_line(obj: dict) -> str:
    return json.dumps(obj, separators=(",", ":"))


# --------------------------------------------------------------------------- dirt

CsvDirt = Callable[[list[str]], list[str]]
JsonDirt = Callable[[dict, Example], str]


def _set_field(index: int, make: Callable[[str], str]) -> CsvDirt:
    def apply(fields: list[str]) -> list[str]:
        fields = list(fields)
        fields[index] = make(fields[index])
        return fields
    return apply


def _swap_fields(i: int, j: int) -> CsvDirt:
    def apply(fields: list[str]) -> list[str]:
        fields = list(fields)
        fields[i], fields[j] = fields[j], fields[i]
        return fields
    return apply


_HOLDOUT = ("unknown_ml_use", _set_field(0, lambda _: "HOLDOUT"))

_CSV_DIRT: dict[str, tuple[tuple[str, CsvDirt], ...]] = {
    "IMAGE_BOUNDING_BOX_ANNOTATION": (
        ("coordinate_out_of_range", _set_field(7, lambda _: "1.2")),
        _HOLDOUT,
        ("inverted_box", _swap_fields(3, 7)),
        ("bad_number", _set_field(4, lambda y: y + "x")),
        ("field_count", lambda fields: fields[:-2]),
    ),
    "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION": (
        ("bad_time_segment", _swap_fields(3, 4)),
        _HOLDOUT,
        ("bad_number", _set_field(4, lambda end: end + "s")),
        ("field_count", lambda fields: fields + ["extra"]),
        ("missing_label", _set_field(2, lambda _: "")),
    ),
}


def _value(obj: dict) -> dict:
    """The first annotation's oneof content (e.g. the imageBoundingPolyAnnotation object)."""
    return next(iter(obj["annotations"][0]["annotationValue"].values()))


def _box_vertices(obj: dict) -> list[dict]:
    return _value(obj)["normalizedBoundingPoly"]["normalizedVertices"]


def _segment(obj: dict) -> dict:
    value = _value(obj)
    return value.get("textSegment") or value["sequentialSegment"]


def _dirt(mutate: Callable[[dict, Example], None]) -> JsonDirt:
    def apply(obj: dict, example: Example) -> str:
        mutate(obj, example)
        return _json_line(obj)
    return apply


def _truncated(obj: dict, example: Example) -> str:
    line = _json_line(obj)
    return line[: len(line) // 2]


def _end_past_text(obj: dict, example: Example) -> None:
    segment = _segment(obj)
    segment["endOffset" if "endOffset" in segment or "startOffset" in segment else "end"] = \
        len(example.text) + 5


def _image_payload(obj: dict, example: Example) -> None:
    del obj["textPayload"]
    obj["imagePayload"] = {"mimeType": "IMAGE_JPEG", "imageUri": example.uri}


def _swap_time_segment(obj: dict, example: Example) -> None:
    segment = _value(obj)["timeSegment"]
    segment["startTimeOffset"], segment["endTimeOffset"] = (
        segment["endTimeOffset"], segment["startTimeOffset"])


_JSON_DIRT: dict[str, tuple[tuple[str, JsonDirt], ...]] = {
    "IMAGE_BOUNDING_BOX_ANNOTATION": (
        ("coordinate_out_of_range", _dirt(lambda o, e: _box_vertices(o)[1].update(x=1.25))),
        ("inverted_box", _dirt(lambda o, e: _box_vertices(o).reverse())),
        ("bad_number", _dirt(lambda o, e: _box_vertices(o)[0].update(y="0.2x"))),
        ("invalid_json", _truncated),
        ("too_few_vertices", _dirt(lambda o, e: _box_vertices(o).pop())),
    ),
    "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION": (
        ("bad_time_segment", _dirt(_swap_time_segment)),
        ("bad_number", _dirt(lambda o, e: _value(o)["timeSegment"].update(
            endTimeOffset="ten seconds"))),
        ("missing_label", _dirt(lambda o, e: _value(o).pop("annotationSpec"))),
        ("invalid_json", _truncated),
    ),
    "TEXT_ENTITY_EXTRACTION_ANNOTATION": (
        ("offset_out_of_range", _dirt(_end_past_text)),
        ("missing_label", _dirt(lambda o, e: _value(o).pop("annotationSpec"))),
        ("wrong_payload", _dirt(_image_payload)),
        ("invalid_json", _truncated),
    ),
}


def _targets(candidates: list[int], count: int) -> list[int]:
    """`count` line indexes spread evenly over `candidates`."""
    return [candidates[(k + 1) * len(candidates) // (count + 1)] for k in range(count)]


# --------------------------------------------------------------------------- exports


def render_export(sample: SampleDataset, project: str, export_format: str,
                  seed: int = DEFAULT_SEED) -> RenderedExport:
    """The bytes the service writes for this annotated dataset in `export_format`."""
    if export_format not in sample.formats:
        raise ValueError(f"{sample.annotation_type} exports only {', '.join(sample.formats)}")
    examples = generate_examples(sample, seed)
    if export_format == "csv":
        return _render_csv(sample, examples)
    return _render_jsonl(sample, project, examples)


def _render_csv(sample: SampleDataset, examples: tuple[Example, ...]) -> RenderedExport:
    rows: list[list[str]] = []
    single_rows: list[int] = []  # rows that are their example's only row
    for example in examples:
        example_rows = csv_rows(example, sample.annotation_type)
        if len(example_rows) == 1:
            single_rows.append(len(rows))
        rows.extend(example_rows)
    bad_lines: dict[int, str] = {}
    dirt = _CSV_DIRT.get(sample.annotation_type, ()) if sample.dirty else ()
    for index, (reason, corrupt) in zip(_targets(single_rows, len(dirt)), dirt, strict=True):
        rows[index] = corrupt(rows[index])
        bad_lines[index + 1] = reason
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return RenderedExport(out.getvalue().encode(), "text/csv", bad_lines)


def _render_jsonl(sample: SampleDataset, project: str,
                  examples: tuple[Example, ...]) -> RenderedExport:
    objects = [example_json(e, sample, project) for e in examples]
    lines = [_json_line(obj) for obj in objects]
    bad_lines: dict[int, str] = {}
    dirt = _JSON_DIRT.get(sample.annotation_type, ()) if sample.dirty else ()
    targets = _targets(list(range(len(lines))), len(dirt))
    for index, (reason, corrupt) in zip(targets, dirt, strict=True):
        lines[index] = corrupt(objects[index], examples[index])
        bad_lines[index + 1] = reason
    data = "".join(line + "\n" for line in lines).encode()
    return RenderedExport(data, "application/json", bad_lines)
