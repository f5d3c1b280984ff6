"""report.html in a real browser: Debian's Chromium, headless, loads what a split wrote; its DOM
holds the manifest's numbers and its screenshot shows the charts.

Set LABELEXPORT_REPORT_SCREENSHOT=path to keep the first test's screenshot (docs/ has one).
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import chromium
import pytest
from labelexport.config import SplitPolicy
from labelexport.outputs import LocalFolder
from labelexport.report import SPLIT_STYLES, TOP_LABELS
from labelexport.split_warnings import describe
from labelexport.splitter import SplitJob, split_export
from report_html import parse

from devstack.sample_exports import find_sample, render_export

pytestmark = pytest.mark.timeout(180)

BB = "IMAGE_BOUNDING_BOX_ANNOTATION"
BOX = "0.1,0.1,,,0.3,0.3,,"


def _split(folder: Path, data: bytes, name: str, policy: SplitPolicy) -> dict:
    job = SplitJob(source_uri=f"gs://labelexport-exports/exports/{name}/export.csv",
                   policy=policy, source_generation="1764031234567890", format="csv",
                   annotation_type=BB, annotation_type_source="run_record",
                   source_time="2026-11-24T13:05:07.250000Z")
    manifest = split_export(io.BytesIO(data), job, LocalFolder(folder))
    assert json.loads((folder / "manifest.json").read_text()) == manifest
    return manifest


def test_chromium_shows_the_manifests_numbers_and_a_screenshot(tmp_path):
    data = render_export(find_sample("flowers", "flowers-boxes-dirty"), "demo-project",
                         "csv").data
    manifest = _split(tmp_path / "out", data, "flowers/flowers-boxes-dirty/r1",
                      SplitPolicy(min_items_per_label=2))
    assert manifest["warnings"] and manifest["rows"]["rejected"]  # something to show
    report = tmp_path / "out" / "report.html"

    page = parse(chromium.dump_dom(report, tmp_path))

    assert page.find(id="status").text == f"Status: {manifest['status']}"
    assert page.find(id="time").text == "2026-11-24 13:05:07 UTC"
    for name, split in manifest["splits"].items():
        bar = page.find("g", data_split=name).text
        assert bar.startswith(name) and f"{split['items']:,} items" in bar
        assert f"{split['rows']:,} rows" in bar
    totals: dict[str, int] = {}
    for split in manifest["splits"].values():
        for label, count in split["labels"].items():
            totals[label] = totals.get(label, 0) + count
    top = sorted(totals, key=lambda label: (-totals[label], label))[:TOP_LABELS]
    rows = page.find_all("g", class_="label-row")
    assert [row.attrs["data-label"] for row in rows] == top
    for row, label in zip(rows, top, strict=True):
        counts = [manifest["splits"][s]["labels"].get(label, 0) for s in manifest["splits"]]
        assert row.text.split()[-4:] == [f"{n:,}" for n in (*counts, totals[label])], label
    shown = page.find_all("li", class_="warning")
    assert [(w.attrs["data-code"], w.text) for w in shown] == [
        (w["code"], f"{w['code']}: {describe(w)}") for w in manifest["warnings"]]
    reasons = page.find(id="reasons").text
    for reason, count in manifest["rejected"]["reasons"].items():
        assert f"{reason} {count}" in reasons
    first = page.find(id="first-rejected")
    assert [tr.text.split()[0] for tr in first.find_all("tr")[1:]] == \
        [str(row["line"]) for row in manifest["rejected"]["first"]]

    png = chromium.screenshot(report, tmp_path, tmp_path / "report.png", 1000, 2800)
    width, height, pixels = chromium.png_pixels(png)
    assert (width, height) == (1000, 2800)
    for name in manifest["splits"]:  # every split's bars are drawn, in its own colour
        assert chromium.colour_count(pixels, SPLIT_STYLES[name]["colour"]) > 200, name
    if keep := os.environ.get("LABELEXPORT_REPORT_SCREENSHOT"):
        shutil.copyfile(tmp_path / "report.png", keep)


def _three_hundred_labels() -> bytes:
    lines = []
    for k in range(300):
        lines += [f",gs://b/{k}-{n}.png,label-{k:03d},{BOX}" for n in range(1200 // (k + 1) + 2)]
    return ("\n".join(lines) + "\n").encode()


def _nothing_written() -> bytes:
    return "".join(f"HOLDOUT,gs://b/{k}.png,rose,{BOX}\n" for k in range(20)).encode()


@pytest.mark.parametrize("case", ["300 labels", "0 rows"])
def test_chromium_renders_three_hundred_labels_and_zero_rows(tmp_path, case):
    data = _three_hundred_labels() if case == "300 labels" else _nothing_written()
    manifest = _split(tmp_path / "out", data, f"many/{case.replace(' ', '-')}/r1", SplitPolicy())
    report = tmp_path / "out" / "report.html"

    page = parse(chromium.dump_dom(report, tmp_path))
    rows = page.find_all("g", class_="label-row")
    if case == "300 labels":
        assert len({label for s in manifest["splits"].values() for label in s["labels"]}) == 300
        assert len(rows) == TOP_LABELS + 1
        assert [row.attrs["data-label"] for row in rows[:3]] == ["label-000", "label-001",
                                                                 "label-002"]
        others = rows[-1].text.split()
        rest = [f"label-{k:03d}" for k in range(TOP_LABELS, 300)]
        sums = [sum(manifest["splits"][s]["labels"].get(label, 0) for label in rest)
                for s in manifest["splits"]]
        assert others[:3] == [str(300 - TOP_LABELS), "other", "labels"]
        assert others[-4:] == [f"{n:,}" for n in (*sums, sum(sums))]
    else:
        assert manifest["rows"] == {"read": 20, "written": 0, "rejected": 20}
        assert rows == []
        assert "No labels in the split files" in page.find(id="labels").text
        assert [w.attrs["data-code"] for w in page.find_all("li", class_="warning")] == \
            ["split_empty"] * 3
        assert page.find(id="status").text == "Status: rejected"
        assert "0 items" in page.find("g", data_split="test").text
    png = chromium.screenshot(report, tmp_path, tmp_path / "report.png", 1100, 1400)
    width, height, pixels = chromium.png_pixels(png)
    assert (width, height) == (1100, 1400)
    assert len(set(pixels)) > 50  # a page, not a blank window
