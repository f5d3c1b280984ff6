"""report.html: a pure function of the manifest, self-contained, written before the manifest."""

from __future__ import annotations

import copy
import io
import json
import re
from collections import Counter

import pytest
from labelexport.config import SplitPolicy
from labelexport.manifest import Source, build_manifest
from labelexport.outputs import LocalFolder
from labelexport.report import (
    SHOWN_WARNINGS,
    SPLIT_STYLES,
    TOP_LABELS,
    label_rows,
    render_report,
)
from labelexport.router import Counts
from labelexport.splitter import SplitJob, split_export
from report_html import parse
from splitting import run_split

BB = "IMAGE_BOUNDING_BOX_ANNOTATION"
BOX = "0.1,0.1,,,0.3,0.3,,"
URIS = {"train": "gs://s/p/train.csv", "validation": "gs://s/p/validation.csv",
        "test": "gs://s/p/test.csv", "rejected.jsonl": "gs://s/p/rejected.jsonl"}


def manifest_of(labels: list[dict[str, int]], items: list[int], rejected: Counter | None = None,
                first: list[dict] | None = None, policy: SplitPolicy | None = None) -> dict:
    """A manifest built as a split builds it, from counts per split (train, validation, test)."""
    label_counts = [Counter(split) for split in labels] + [Counter()]
    counts = Counts([sum(c.values()) for c in label_counts], items + [0], label_counts,
                    rejected or Counter(), first or [])
    source = Source("gs://e/exports/d/a/r/export.csv", "1764031234567890", "csv", BB,
                    "run_record", "2026-11-24T13:05:07.123456Z")
    return build_manifest(source, counts, policy or SplitPolicy(), URIS,
                          {"train": 12_345, "validation": 999, "test": 2_500_000,
                           "rejected.jsonl": 0}, "gs://s/p/report.html")


def three_hundred_labels() -> dict:
    labels: list[dict[str, int]] = [{}, {}, {}]
    for k in range(300):
        total = 3000 // (k + 1) + 3
        labels[0][f"label-{k:03d}"] = total - 2
        labels[1][f"label-{k:03d}"] = 1
        if k % 5:
            labels[2][f"label-{k:03d}"] = 1
    return manifest_of(labels, [8000, 1000, 1000])


SMALL = manifest_of([{"rose": 160, "tulip": 170}, {"rose": 20}, {"rose": 18, "tulip": 2}],
                    [240, 30, 30], Counter({"bad_number": 2}),
                    [{"line": 7, "reason": "bad_number", "detail": "column 4 is 'x'",
                      "raw": "TRAIN,gs://b/a.png,rose,x"},
                     {"line": 9, "reason": "bad_number", "detail": "column 5 is 'y'",
                      "raw": "TRAIN,gs://b/b.png,rose,0.1,y"}])


# --------------------------------------------------------------------------- pure


def test_the_same_manifest_gives_the_same_bytes_and_is_left_unchanged():
    before = copy.deepcopy(SMALL)
    assert render_report(SMALL) == render_report(copy.deepcopy(SMALL))
    assert SMALL == before


def test_the_time_shown_is_the_exports_not_the_clocks():
    page = parse(render_report(SMALL))
    assert page.find(id="time").text == "2026-11-24 13:05:07 UTC"
    unknown = copy.deepcopy(SMALL)
    unknown["source"]["time"] = None
    assert parse(render_report(unknown)).find(id="time").text == "not recorded"


def test_it_is_self_contained_no_script_and_nothing_fetched():
    html = render_report(three_hundred_labels())
    page = parse(html)
    assert not page.find_all("script") and not page.find_all("link")
    assert not page.find_all("img") and not page.find_all("iframe")
    for element in page.iter():
        for name, value in element.attrs.items():
            assert not name.startswith("on"), f"event handler {name} on <{element.tag}>"
            if name in ("src", "href", "xlink:href", "action"):
                assert "://" not in value and not value.startswith("//"), (name, value)
    assert "@import" not in html and "@font-face" not in html
    assert set(re.findall(r"url\(([^)]*)\)", html)) <= {
        "#fill-train", "#fill-validation", "#fill-test", "#fill-unassigned"}


def test_text_from_the_export_is_escaped():
    hostile = "<script>alert(1)</script>"
    manifest = manifest_of([{hostile: 5}, {hostile: 1}, {hostile: 1}], [5, 1, 1],
                           Counter({"bad_number": 1}),
                           [{"line": 2, "reason": "bad_number", "detail": f'is "{hostile}"',
                             "raw": f"TRAIN,{hostile}"}])
    html = render_report(manifest)
    assert "<script" not in html
    page = parse(html)
    assert page.find("g", data_label=hostile).text.startswith(hostile)
    assert hostile in page.find(id="first-rejected").text


def _luminance(colour: str) -> float:
    """Relative luminance (WCAG) of "#RRGGBB": what a greyscale print keeps of a colour."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(int(colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_each_split_has_its_own_pattern_and_a_distinct_grey():
    fills = [style["fill"] for style in SPLIT_STYLES.values()]
    assert len(set(fills)) == len(fills)
    html = render_report(SMALL)
    for fill in fills:
        assert f'<pattern id="{fill[5:-1]}"' in html
    greys = sorted(_luminance(style["colour"]) for style in SPLIT_STYLES.values())
    assert all(b - a >= 0.05 for a, b in zip(greys, greys[1:], strict=False)), greys


# --------------------------------------------------------------------------- what it shows


def test_it_shows_every_split_every_label_each_warning_and_the_first_rejects():
    page = parse(render_report(SMALL))
    for name, split in SMALL["splits"].items():
        bar = page.find("g", data_split=name)
        assert f"{split['items']:,} items" in bar.text and f"{split['rows']:,} rows" in bar.text
    rose = page.find("g", data_label="rose").text.split()
    assert rose[0] == "rose" and rose[-4:] == ["160", "20", "18", "198"]
    tulip = page.find("g", data_label="tulip").text.split()
    assert tulip[-4:] == ["170", "0", "2", "172"]
    warnings = page.find_all("li", class_="warning")
    assert [w.attrs["data-code"] for w in warnings] == [w["code"] for w in SMALL["warnings"]]
    assert "label 'tulip' has no item in validation" in warnings[0].text
    first = page.find(id="first-rejected").text
    assert "7 bad_number column 4 is 'x' TRAIN,gs://b/a.png,rose,x" in first
    files = {row.attrs["data-file"]: row.text for row in page.find_all("tr")
             if "data-file" in row.attrs}
    assert files["train"].split()[:4] == ["train.csv", "330", "240", "12.3"]
    assert "2.5 MB" in files["test"] and "999 B" in files["validation"]
    assert "gs://s/p/rejected.jsonl" in files["rejected"]
    assert page.find(id="status").text == "Status: ok"


def test_labels_are_sorted_by_total_then_name():
    manifest = manifest_of([{"b": 5, "a": 5, "c": 9}, {"a": 1}, {"b": 1}], [10, 1, 1])
    assert [row["label"] for row in label_rows(manifest)["rows"]] == ["c", "a", "b"]


def test_three_hundred_labels_show_the_top_ones_and_an_others_row():
    manifest = three_hundred_labels()
    chart = label_rows(manifest)
    assert [row["label"] for row in chart["rows"]] == [f"label-{k:03d}" for k in range(TOP_LABELS)]
    rest = [f"label-{k:03d}" for k in range(TOP_LABELS, 300)]
    assert chart["others"]["labels"] == f"{len(rest)}"
    expected = [sum(manifest["splits"][s]["labels"].get(label, 0) for label in rest)
                for s in ("train", "validation", "test")]
    assert chart["others"]["counts"] == [f"{n:,}" for n in expected]
    page = parse(render_report(manifest))
    rows = page.find_all("g", class_="label-row")
    assert len(rows) == TOP_LABELS + 1
    assert rows[-1].text.startswith(f"{len(rest)} other labels")
    assert len(manifest["warnings"]) == 60 > SHOWN_WARNINGS  # labels missing from test
    assert len(page.find_all("li", class_="warning")) == SHOWN_WARNINGS
    assert "more in manifest.json" in page.find(id="warnings").text


def test_a_split_of_nothing_renders():
    manifest = manifest_of([{}, {}, {}], [0, 0, 0], Counter({"invalid_json": 3}),
                           [{"line": n, "reason": "invalid_json", "detail": "not JSON",
                             "raw": "{"} for n in (1, 2, 3)])
    page = parse(render_report(manifest))
    assert "No labels in the split files" in page.find(id="labels").text
    assert [w.attrs["data-code"] for w in page.find_all("li", class_="warning")] == \
        ["split_empty"] * 3
    assert "0 items" in page.find("g", data_split="train").text


# --------------------------------------------------------------------------- written by a split


class _Recording(LocalFolder):
    def __init__(self, folder, fail_on: str | None = None):
        super().__init__(folder)
        self.done: list[str] = []
        self.fail_on = fail_on

    def open(self, name):
        if name == self.fail_on:
            raise OSError(f"injected: cannot write {name}")
        return super().open(name)

    def commit(self, name, stream):  # LocalFolder writes its manifest through it too
        super().commit(name, stream)
        self.done.append(name)


def _split(outputs) -> dict:
    data = f"TRAIN,gs://b/a.png,rose,{BOX}\nHOLDOUT,gs://b/b.png,rose,{BOX}\n".encode()
    job = SplitJob(source_uri="test://export", policy=SplitPolicy(), annotation_type=BB)
    return split_export(io.BytesIO(data), job, outputs)


def test_the_report_is_written_beside_the_manifest_before_it_and_linked(tmp_path):
    outputs = _Recording(tmp_path)
    manifest = _split(outputs)
    assert outputs.done[-2:] == ["report.html", "manifest.json"]
    assert manifest["report"] == {"uri": str(tmp_path / "report.html")}
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == render_report(manifest)
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest


def test_no_manifest_when_the_report_cannot_be_written(tmp_path):
    with pytest.raises(OSError, match="injected"):
        _split(_Recording(tmp_path, fail_on="report.html"))
    assert not (tmp_path / "manifest.json").exists()


def test_splitting_the_same_export_twice_writes_the_same_report(tmp_path):
    data = "".join(f",gs://b/{k}.png,{['rose', 'tulip'][k % 2]},{BOX}\n" for k in range(50))
    first = run_split(tmp_path / "a", data + "HOLDOUT,gs://b/x.png\n", annotation_type=BB)
    second = run_split(tmp_path / "b", data + "HOLDOUT,gs://b/x.png\n", annotation_type=BB)
    assert first.text("report.html").replace(str(tmp_path / "a"), "@") == \
        second.text("report.html").replace(str(tmp_path / "b"), "@")
