"""Properties of a split run on generated exports (the README's split output contract).

Each generated export is checked against a small model of the policy: every row ends in exactly
one place, the counts add up, no item is in two splits, the same input gives the same bytes, and
the hash assignment neither moves an item when other rows change nor strays from the ratios.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from labelexport.config import SplitPolicy
from labelexport.outputs import LocalFolder
from labelexport.router import FIRST_REJECTED_KEPT, TEXT_KEPT
from labelexport.splitter import SplitJob, split_export

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
FEW = settings(SETTINGS, max_examples=12)

SPLITS = ("train", "validation", "test", "unassigned")
CANONICAL = ("TRAIN", "VALIDATION", "TEST", "UNASSIGNED")
TRAIN, VALIDATION, TEST, UNASSIGNED = range(4)
EXPLICIT = {
    "TRAIN": TRAIN, "train": TRAIN, "Training": TRAIN, "TRAINING": TRAIN, "tRaIn": TRAIN,
    "Validation": VALIDATION, "VALIDATE": VALIDATION, "validate": VALIDATION,
    "TEST": TEST, "test": TEST, "Testing": TEST, " TEST ": TEST,
}
UNASSIGNED_SPELLINGS = ("UNASSIGNED", "unassigned", "Unassigned", "", " unassigned")
BAD_ML_USES = ("HOLDOUT", "trainn", "TRAIN_")
BB = "IMAGE_BOUNDING_BOX_ANNOTATION"
IC = "IMAGE_CLASSIFICATION_ANNOTATION"

# (body after the URI, labels it carries, reason when bad) per annotation type
BODIES = {
    BB: [
        ("rose,0.1,0.1,,,0.3,0.3,,", ["rose"], None),
        ("tulip,.1,.2,,,.7,1,,", ["tulip"], None),
        ("rose,0.1,0.2,0.5,0.2,0.5,0.6,0.1,0.6", ["rose"], None),
        ('"rose, red",0.1,0.1,,,0.3,0.3,,', ["rose, red"], None),
        (",,,,,,,,", [], None),  # a negative example: nine empty columns after the URI
        (None, [], None),  # a negative example without the empty columns
        ("rose,0.5,0.1,,,0.3,0.3,,", [], "inverted_box"),
        ("rose,0.1,0.1,,,0.3", [], "field_count"),
        ("rose,0.1,0.1,,,1.3,0.3,,", [], "coordinate_out_of_range"),
        ("rose,0.1,x,,,0.3,0.3,,", [], "bad_number"),
    ],
    IC: [
        ("tulip", ["tulip"], None),
        ("tulip,daisy", ["tulip", "daisy"], None),
        ('"daisy, white",tulip', ["daisy, white", "tulip"], None),
        ("tulip,,", ["tulip"], None),
        (None, [], None),
        (",tulip", [], "missing_label"),
    ],
}


@dataclass
class Row:
    raw: bytes  # the physical line, with its line end
    item: str | None  # None: a row bad before its item is known
    use: int | None  # the ML use it names; None: bad
    reason: str | None  # the reason it must be rejected for, if bad on its own
    labels: list[str]
    has_ml_column: bool = True


# --------------------------------------------------------------------------- generators


@st.composite
def csv_rows(draw, annotation_type: str, items: int = 30) -> Row:
    uri = f"gs://bkt/img{draw(st.integers(0, items - 1))}.png"
    end = draw(st.sampled_from(["\n", "\r\n"]))
    kind = draw(st.sampled_from(["explicit"] * 4 + ["unassigned"] * 4 +
                                ["no_ml_column", "bad_ml_use", "invalid_utf8", "no_uri"]))
    body, labels, reason = draw(st.sampled_from(BODIES[annotation_type]))
    if kind == "no_uri":
        body, labels, reason = BODIES[annotation_type][0]
    tail = "" if body is None else "," + body
    if kind == "invalid_utf8":
        raw = f"TRAIN,gs://bkt/\udcff.png{tail}{end}".encode("utf-8", "surrogateescape")
        return Row(raw, None, None, "invalid_utf8", [])
    if kind == "no_uri":  # with a valid body: with a bad one either reason would do
        use_text = draw(st.sampled_from(["TRAIN", "", "UNASSIGNED", "test"]))
        return Row(f"{use_text},{tail}{end}".encode(), None, None, "missing_uri", [])
    if kind == "bad_ml_use":
        use_text = draw(st.sampled_from(BAD_ML_USES))
        return Row(f"{use_text},{uri}{tail}{end}".encode(), None, None, "unknown_ml_use", [])
    if kind == "no_ml_column":
        return Row(f"{uri}{tail}{end}".encode(), uri, UNASSIGNED if reason is None else None,
                   reason, labels, has_ml_column=False)
    if kind == "explicit":
        use_text = draw(st.sampled_from(sorted(EXPLICIT)))
        use = EXPLICIT[use_text]
    else:
        use_text = draw(st.sampled_from(UNASSIGNED_SPELLINGS))
        use = UNASSIGNED
    return Row(f"{use_text},{uri}{tail}{end}".encode(), uri,
               use if reason is None else None, reason, labels)


NAME = "projects/p/datasets/d/annotatedDatasets/a/examples/e"


@st.composite
def jsonl_rows(draw, items: int = 30) -> Row:
    name = NAME + str(draw(st.integers(0, items - 1)))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    labels = draw(st.lists(st.sampled_from(["tulip", "daisy", "rose"]), max_size=2))
    example: dict = {"name": name,
                     "imagePayload": {"mimeType": "IMAGE_PNG", "imageUri": f"gs://b/{name[-3:]}"},
                     "annotations": [{"annotationValue": {"imageClassificationAnnotation": {
                         "annotationSpec": {"displayName": label}}}} for label in labels]}
    kind = draw(st.sampled_from(["explicit"] * 4 + ["unassigned"] * 4 +
                                ["bad_ml_use", "invalid_json", "wrong_payload", "no_label"]))
    where = draw(st.sampled_from(["mlUse", "label", "none"]))
    use: int | None
    reason = None
    if kind == "explicit" and where == "none":
        use_text, use = "", UNASSIGNED
    elif kind == "explicit":
        use_text = draw(st.sampled_from(sorted(EXPLICIT)))
        use = EXPLICIT[use_text]
    elif kind == "bad_ml_use":
        use_text, use, reason = draw(st.sampled_from(BAD_ML_USES)), None, "unknown_ml_use"
        where = "mlUse" if where == "none" else where
    else:
        use_text, use = draw(st.sampled_from(UNASSIGNED_SPELLINGS)), UNASSIGNED
    if where == "mlUse":
        example["mlUse"] = use_text
    elif where == "label":
        example["dataItemResourceLabels"] = {"aiplatform.googleapis.com/ml_use": use_text}
    if kind == "wrong_payload":
        example["textPayload"] = example.pop("imagePayload")
        use, reason = None, "wrong_payload"
    elif kind == "no_label":
        example["annotations"] = [{"annotationValue": {"imageClassificationAnnotation": {
            "annotationSpec": {"displayName": ""}}}}]
        use, reason = None, "missing_label"
    text = json.dumps(example, separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])))
    if kind == "invalid_json":
        text, use, reason = text[:-1], None, "invalid_json"
    return Row((text + end).encode(), name, use, reason, labels)


VERTEX_ML = "aiplatform.googleapis.com/ml_use"
VERTEX_USES = {"training": TRAIN, "TRAIN": TRAIN, "validation": VALIDATION, "Validate": VALIDATION,
               "test": TEST, "TEST": TEST}


@st.composite
def vertex_rows(draw, media: str, items: int = 30) -> Row:
    """A Vertex image_bounding_box line (media "image") or text_classification_single_label
    line with inline text (media "text"), good or bad in each way the model knows."""
    k = draw(st.integers(0, items - 1))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    label = draw(st.sampled_from(["car", "bus", "tram"]))
    if media == "image":
        item = f"gs://b/img{k}.jpg"
        line: dict = {"imageGcsUri": item, "boundingBoxAnnotations": [
            {"displayName": label, "xMin": 0.1, "xMax": 0.4, "yMin": "0.2", "yMax": 0.9}]}
    else:
        item = f"text number {k}, \u00e9\u2028 with an odd character"
        line = {"textContent": item, "classificationAnnotation": {"displayName": label}}
    labels = [label]
    kind = draw(st.sampled_from(["explicit"] * 4 + ["unassigned"] * 4 + [
        "bad_ml_use", "invalid_json", "bad_annotation", "negative"]))
    key = draw(st.sampled_from([VERTEX_ML, "ml_use"]))
    use: int | None = UNASSIGNED
    reason = None
    if kind == "explicit":
        use_text = draw(st.sampled_from(sorted(VERTEX_USES)))
        line["dataItemResourceLabels"] = {key: use_text, "source": "tool"}
        use = VERTEX_USES[use_text]
    elif kind == "bad_ml_use":
        line["dataItemResourceLabels"] = {key: draw(st.sampled_from(BAD_ML_USES))}
        use, reason = None, "unknown_ml_use"
    elif kind == "bad_annotation" and media == "image":
        line["boundingBoxAnnotations"][0]["xMax"] = 0.05
        use, reason = None, "inverted_box"
    elif kind == "bad_annotation":
        line["classificationAnnotation"] = {"displayName": ""}
        use, reason = None, "missing_label"
    elif kind == "negative":
        line.pop("boundingBoxAnnotations" if media == "image" else "classificationAnnotation")
        labels = []
    text = json.dumps(line, ensure_ascii=draw(st.booleans()))
    if kind == "invalid_json":
        text, use, reason = text[:-1], None, "invalid_json"
    return Row((text + end).encode(), item, use, reason, labels if reason is None else [])


def vertex_item(row: str) -> str:
    line = json.loads(row)
    return line.get("imageGcsUri") or line["textContent"]


def csv_exports(annotation_type: str):
    return st.tuples(st.lists(csv_rows(annotation_type), min_size=1, max_size=40),
                     st.booleans())


# --------------------------------------------------------------------------- running


def run(data: bytes, policy: SplitPolicy, annotation_type: str | None = BB,
        fmt: str | None = None) -> tuple[dict, dict[str, bytes]]:
    """Split `data` in a fresh folder; the manifest and every file's bytes (folder made '@')."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "out"
        job = SplitJob(source_uri="test://export", policy=policy, format=fmt,
                       annotation_type=annotation_type)
        manifest = split_export(io.BytesIO(data), job, LocalFolder(folder))
        files = {p.name: p.read_bytes().replace(str(folder).encode(), b"@")
                 for p in sorted(folder.iterdir())}
    return manifest, files


def lines_of(content: bytes) -> list[str]:
    """A split file's rows, each with its CR if it had one."""
    text = content.decode("utf-8")
    assert text == "" or text.endswith("\n")
    return text.split("\n")[:-1]


def csv_item(row: str) -> str:
    fields = next(csv.reader([row.rstrip("\r")]))
    return fields[0] if "://" in fields[0] else fields[1]


def jsonl_item(row: str) -> str:
    return json.loads(row)["name"]


def expected_outcome(rows: list[Row], policy: SplitPolicy, split_of_hashed: dict[str, int]):
    """The model: {line: reason} rejected, and the split of each accepted row (by index).

    Items first placed by the hash take their split from `split_of_hashed` (read off the
    output): the model checks that the rest of the policy follows from it.
    """
    rejected: dict[int, str] = {}
    placed: dict[int, int] = {}
    item_split: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        if row.reason is not None:
            rejected[number] = row.reason
            continue
        if row.item not in item_split:
            if row.use != UNASSIGNED:
                item_split[row.item] = row.use
            elif policy.unassigned == "keep":
                item_split[row.item] = UNASSIGNED
            else:
                item_split[row.item] = split_of_hashed.get(row.item, -1)
        split = item_split[row.item]
        if row.use != UNASSIGNED and row.use != split:
            rejected[number] = "ml_use_conflict"
            continue
        placed[number] = split
    return rejected, placed


def check_run(rows: list[Row], data: bytes, manifest: dict, files: dict[str, bytes],
              policy: SplitPolicy, fmt: str, item_of=None) -> None:
    ext = "csv" if fmt == "csv" else "jsonl"
    names = SPLITS if policy.unassigned == "keep" else SPLITS[:3]
    assert set(files) == {f"{n}.{ext}" for n in names} | {"rejected.jsonl", "manifest.json",
                                                          "report.html"}
    assert json.loads(files["manifest.json"]) == json.loads(json.dumps(manifest)) | {
        "splits": {n: s | {"uri": f"@/{n}.{ext}"} for n, s in manifest["splits"].items()},
        "rejected": manifest["rejected"] | {"uri": "@/rejected.jsonl"},
        "report": {"uri": "@/report.html"}}
    assert manifest["rejected"]["bytes"] == len(files["rejected.jsonl"])
    assert all(manifest["splits"][n]["bytes"] == len(files[f"{n}.{ext}"]) for n in names)

    item_of = item_of or (csv_item if fmt == "csv" else jsonl_item)
    out_rows = {n: lines_of(files[f"{n}.{ext}"]) for n in names}
    rejected = [json.loads(line) for line in lines_of(files["rejected.jsonl"])]
    assert manifest["rejected"]["first"] == [
        row | {"detail": row["detail"][:TEXT_KEPT], "raw": row["raw"][:TEXT_KEPT]}
        for row in rejected[:FIRST_REJECTED_KEPT]]

    # counts: read = written + rejected, against the input, the files and the manifest
    assert manifest["rows"]["read"] == len(rows)
    assert manifest["rows"]["rejected"] == len(rejected)
    assert manifest["rows"]["written"] == sum(len(r) for r in out_rows.values())
    assert manifest["rows"]["read"] == manifest["rows"]["written"] + manifest["rows"]["rejected"]
    assert sum(s["rows"] for s in manifest["splits"].values()) == manifest["rows"]["written"]
    assert manifest["rejected"]["reasons"] == dict(Counter(r["reason"] for r in rejected))

    # no item in two splits; items and rows per split as the manifest says
    seen: dict[str, str] = {}
    for name, split_rows in out_rows.items():
        for row in split_rows:
            item = item_of(row)
            assert seen.setdefault(item, name) == name, f"{item} in {seen[item]} and {name}"
        assert manifest["splits"][name]["rows"] == len(split_rows)
        assert manifest["splits"][name]["items"] == len({item_of(r) for r in split_rows})
    if policy.unassigned == "assign":
        assert "unassigned" not in manifest["splits"]

    # every input row ends in exactly one place, the place the policy gives it
    hashed = {item: SPLITS.index(name) for item, name in seen.items()}
    want_rejected, placed = expected_outcome(rows, policy, hashed)
    assert {r["line"]: r["reason"] for r in rejected} == want_rejected
    assert len(rejected) == len(want_rejected)  # one reject per line
    texts = data.decode("utf-8", "surrogateescape").split("\n")
    for r in rejected:
        raw = texts[r["line"] - 1].removeprefix("\ufeff").removesuffix("\r")
        got = r["raw"]
        if r["reason"] == "invalid_utf8":
            raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        assert got == raw
    want_rows: dict[str, Counter] = {n: Counter() for n in names}
    want_labels: dict[str, Counter] = {n: Counter() for n in names}
    for number, split in placed.items():
        row = rows[number - 1]
        assert split in (TRAIN, VALIDATION, TEST) or (
            split == UNASSIGNED and policy.unassigned == "keep"), (number, split)
        text = row.raw.decode("utf-8").removesuffix("\n")
        if fmt == "csv" and row.use == UNASSIGNED and split != UNASSIGNED:
            first, _, rest = text.partition(",")
            text = CANONICAL[split] + "," + (rest if row.has_ml_column else text)
        want_rows[SPLITS[split]][text] += 1
        want_labels[SPLITS[split]].update(row.labels)
    for name in names:
        assert Counter(out_rows[name]) == want_rows[name], name
        assert manifest["splits"][name]["labels"] == dict(want_labels[name]), name


def join(rows: list[Row], bom: bool = False) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + b"".join(r.raw for r in rows)


# --------------------------------------------------------------------------- properties

POLICIES = st.sampled_from([
    SplitPolicy("assign", (80, 10, 10)), SplitPolicy("assign", (34, 33, 33)),
    SplitPolicy("keep", (80, 10, 10)), SplitPolicy("assign", (0, 50, 50)),
])


@SETTINGS
@given(export=csv_exports(BB), policy=POLICIES)
def test_bounding_box_csv_rows_each_end_in_one_place(export, policy):
    rows, bom = export
    data = join(rows, bom)
    manifest, files = run(data, policy, BB)
    check_run(rows, data, manifest, files, policy, "csv")


@SETTINGS
@given(export=csv_exports(IC), policy=POLICIES)
def test_classification_csv_rows_each_end_in_one_place(export, policy):
    rows, bom = export
    data = join(rows, bom)
    manifest, files = run(data, policy, IC)
    check_run(rows, data, manifest, files, policy, "csv")


@SETTINGS
@given(rows=st.lists(jsonl_rows(), min_size=1, max_size=40), bom=st.booleans(),
       policy=POLICIES)
def test_jsonl_rows_each_end_in_one_place(rows, bom, policy):
    data = join(rows, bom)
    manifest, files = run(data, policy, IC, fmt="jsonl")
    check_run(rows, data, manifest, files, policy, "jsonl")


@SETTINGS
@given(rows=st.lists(vertex_rows("image"), min_size=1, max_size=40), policy=POLICIES)
def test_vertex_box_lines_each_end_in_one_place(rows, policy):
    data = join(rows)
    manifest, files = run(data, policy, "image_bounding_box")
    check_run(rows, data, manifest, files, policy, "jsonl", vertex_item)


@SETTINGS
@given(rows=st.lists(vertex_rows("text"), min_size=1, max_size=40), policy=POLICIES)
def test_vertex_inline_text_lines_each_end_in_one_place(rows, policy):
    data = join(rows)
    manifest, files = run(data, policy, None)  # inferred
    assert manifest["source"]["annotationType"] == "text_classification_single_label"
    check_run(rows, data, manifest, files, policy, "jsonl", vertex_item)


@SETTINGS
@given(export=csv_exports(BB), jsonl=st.lists(jsonl_rows(), min_size=1, max_size=20),
       vertex=st.lists(vertex_rows("image"), min_size=1, max_size=20), policy=POLICIES)
def test_same_input_and_policy_give_the_same_bytes(export, jsonl, vertex, policy):
    for data, kind, fmt in ((join(export[0], export[1]), BB, None), (join(jsonl), IC, "jsonl"),
                            (join(vertex), "image_bounding_box", None)):
        first = run(data, policy, kind, fmt)[1]
        second = run(data, policy, kind, fmt)[1]
        assert first == second
        assert len(first) >= 5  # three splits, rejected.jsonl and manifest.json at least


def _unassigned_rows(items: list[int], prefix: str, rows_each: int) -> list[Row]:
    rows = []
    for k in items:
        for r in range(rows_each):
            uri = f"gs://base/{prefix}{k}.png"
            use = UNASSIGNED_SPELLINGS[(k + r) % len(UNASSIGNED_SPELLINGS)]
            rows.append(Row(f"{use},{uri},rose,0.1,0.1,,,0.3,0.3,,\n".encode(), uri,
                            UNASSIGNED, None, ["rose"]))
    return rows


def _splits_by_item(files: dict[str, bytes]) -> dict[str, str]:
    found = {}
    for name in SPLITS:
        for row in lines_of(files.get(f"{name}.csv", b"")):
            found[csv_item(row)] = name
    return found


@SETTINGS
@given(base=st.lists(st.integers(0, 10_000), min_size=1, max_size=25, unique=True),
       rows_each=st.integers(1, 3),
       others=st.lists(csv_rows(BB, items=60), min_size=1, max_size=30),
       positions=st.lists(st.integers(0, 10_000), min_size=30, max_size=30),
       keep_every=st.integers(2, 4),
       ratios=st.sampled_from([(80, 10, 10), (34, 33, 33), (10, 10, 80)]))
def test_hash_assignment_does_not_move_an_item_when_other_rows_change(
        base, rows_each, others, positions, keep_every, ratios):
    policy = SplitPolicy("assign", ratios)
    base_rows = _unassigned_rows(base, "item", rows_each)
    alone = _splits_by_item(run(join(base_rows), policy)[1])
    assert set(alone) == {r.item for r in base_rows}

    mixed = list(base_rows)
    for row, at in zip(others, positions, strict=False):  # insert and append elsewhere
        mixed.insert(at % (len(mixed) + 1), row)
    with_others = _splits_by_item(run(join(mixed), policy)[1])
    assert {item: with_others[item] for item in alone} == alone

    fewer = [r for i, r in enumerate(mixed) if r in base_rows or i % keep_every]  # remove some
    with_fewer = _splits_by_item(run(join(fewer), policy)[1])
    assert {item: with_fewer[item] for item in alone} == alone


@FEW
@given(ratios=st.sampled_from([(80, 10, 10), (50, 25, 25), (70, 20, 10), (0, 50, 50),
                               (100, 0, 0), (34, 33, 33)]),
       prefix=st.text(alphabet="abcdefghij/_-", min_size=1, max_size=8))
def test_assigned_shares_are_near_the_ratios(ratios, prefix):
    items = 4000
    rows = _unassigned_rows(list(range(items)), prefix, 1)
    manifest, _ = run(join(rows), SplitPolicy("assign", ratios))
    assert manifest["rows"]["written"] == items
    for name, ratio in zip(SPLITS[:3], ratios, strict=True):
        share = manifest["splits"][name]["items"] / items
        assert abs(share - ratio / 100) <= 0.04, (name, share, ratio)
        if ratio == 0:
            assert manifest["splits"][name]["items"] == 0


@FEW
@given(base=st.lists(st.integers(0, 10_000), min_size=1, max_size=25, unique=True),
       others=st.lists(vertex_rows("image", items=60), min_size=1, max_size=30),
       positions=st.lists(st.integers(0, 10_000), min_size=30, max_size=30))
def test_vertex_hash_assignment_does_not_move_an_item_when_other_lines_change(
        base, others, positions):
    policy = SplitPolicy("assign", (80, 10, 10))
    box = {"displayName": "car", "xMin": 0.1, "xMax": 0.4, "yMin": 0.2, "yMax": 0.9}
    base_rows = [Row((json.dumps({"imageGcsUri": f"gs://base/{k}.jpg",
                                  "boundingBoxAnnotations": [box]}) + "\n").encode(),
                     f"gs://base/{k}.jpg", UNASSIGNED, None, ["car"]) for k in base]

    def placed(rows: list[Row]) -> dict[str, str]:
        files = run(join(rows), policy, "image_bounding_box")[1]
        return {vertex_item(row): name for name in SPLITS
                for row in lines_of(files.get(f"{name}.jsonl", b""))}

    alone = placed(base_rows)
    mixed = list(base_rows)
    for row, at in zip(others, positions, strict=False):
        mixed.insert(at % (len(mixed) + 1), row)
    assert {item: placed(mixed)[item] for item in alone} == alone
