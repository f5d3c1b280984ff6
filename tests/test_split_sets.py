"""Several files split as one export: an item keeps its split across files, each reject names
its file and its line in it, and the manifest lists every file with its rows."""

from __future__ import annotations

import io
import json
from contextlib import nullcontext

import pytest
from labelexport.config import SplitPolicy
from labelexport.errors import SourceError
from labelexport.outputs import LocalFolder
from labelexport.splitter import SourceFile, SplitJob, split_files

from devstack import vertex_samples

ML = "aiplatform.googleapis.com/ml_use"


def _files(*texts: str) -> list[SourceFile]:
    return [SourceFile(f"gs://b/exports/x/f{k}.jsonl", str(100 + k),
                       lambda text=text: nullcontext(io.BytesIO(text.encode())))
            for k, text in enumerate(texts)]


KEEP = SplitPolicy("keep")


def _split(tmp_path, files, policy=KEEP, annotation_type="image_bounding_box"):
    job = SplitJob(source_uri="gs://b/exports/x/export-set.json", policy=policy,
                   source_generation="7", annotation_type=annotation_type,
                   annotation_type_source="export_set")
    folder = tmp_path / "out"
    manifest = split_files(files, job, LocalFolder(folder))
    return manifest, folder


def _line(uri: str, use: str | None = None, label: str = "car") -> str:
    line = {"imageGcsUri": uri, "boundingBoxAnnotations": [
        {"displayName": label, "xMin": 0.1, "xMax": 0.5, "yMin": 0.1, "yMax": 0.5}]}
    if use:
        line["dataItemResourceLabels"] = {ML: use}
    return json.dumps(line) + "\n"


def test_an_item_keeps_its_split_across_files_and_rejects_name_their_file(tmp_path):
    first = _line("gs://i/1.jpg", "test") + _line("gs://i/2.jpg", "training")
    second = _line("gs://i/1.jpg") + _line("gs://i/3.jpg", "validation") + \
        _line("gs://i/2.jpg", "test") + "{broken\n"
    manifest, folder = _split(tmp_path, _files(first, second))
    test_rows = (folder / "test.jsonl").read_text().splitlines()
    assert [json.loads(r)["imageGcsUri"] for r in test_rows] == ["gs://i/1.jpg", "gs://i/1.jpg"]
    rejected = [json.loads(r) for r in (folder / "rejected.jsonl").read_text().splitlines()]
    assert [(r["file"], r["line"], r["reason"]) for r in rejected] == [
        ("gs://b/exports/x/f1.jsonl", 3, "ml_use_conflict"),
        ("gs://b/exports/x/f1.jsonl", 4, "invalid_json")]
    assert manifest["source"]["files"] == [
        {"uri": "gs://b/exports/x/f0.jsonl", "generation": "100", "rows": 2},
        {"uri": "gs://b/exports/x/f1.jsonl", "generation": "101", "rows": 4}]
    assert manifest["source"]["uri"] == "gs://b/exports/x/export-set.json"
    assert manifest["rows"] == {"read": 6, "written": 4, "rejected": 2}
    assert manifest["splits"]["test"]["items"] == 1
    assert manifest["rejected"]["first"][0]["file"] == "gs://b/exports/x/f1.jsonl"


def test_a_vertex_export_of_two_annotation_sets_splits_as_one(tmp_path):
    dataset = vertex_samples.sample_for("image_bounding_box")
    export = vertex_samples.render_export(dataset)
    assert len(export.files) == 2
    files = _files(*(export.text(s) for s in dataset.annotation_sets))
    manifest, folder = _split(tmp_path, files, SplitPolicy("assign"))
    seen: dict[str, str] = {}
    for split in ("train", "validation", "test"):
        for row in (folder / f"{split}.jsonl").read_text().splitlines():
            item = json.loads(row)["imageGcsUri"]
            assert seen.setdefault(item, split) == split
    assert manifest["rows"]["rejected"] == 0
    assert sum(f["rows"] for f in manifest["source"]["files"]) == manifest["rows"]["read"]
    again, again_folder = _split(tmp_path / "again", files, SplitPolicy("assign"))
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl"):
        assert (folder / name).read_bytes() == (again_folder / name).read_bytes()
    for name in ("manifest.json", "report.html"):  # they name the output folder
        assert (folder / name).read_text().replace(str(folder), "@") == \
            (again_folder / name).read_text().replace(str(again_folder), "@")


def test_the_type_may_be_inferred_from_the_first_file(tmp_path):
    export = vertex_samples.render_export(vertex_samples.sample_for("text_extraction"))
    manifest, _ = _split(tmp_path, _files(*(export.text(s) for s in export.files)),
                         annotation_type=None)
    assert manifest["source"]["annotationType"] == "text_extraction"


def test_a_set_of_no_file_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="lists no file"):
        _split(tmp_path, [])
