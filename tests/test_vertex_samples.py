"""The local stack's sample Vertex AI exports: clean ones split without a reject, dirty ones
are rejected exactly at their corrupted lines, and every schema has both."""

from __future__ import annotations

import json

import pytest
from labelexport import formats
from labelexport.config import SplitPolicy
from splitting import run_split

from devstack import vertex_samples
from devstack.vertex_samples import CATALOG, render_export


def test_every_vertex_format_has_a_clean_and_a_dirty_sample():
    vertex = sorted(f.name for f in formats.FORMATS if f.family == formats.VERTEX)
    assert sorted(vertex_samples.SCHEMAS) == vertex
    assert sorted((d.schema, d.dirty) for d in CATALOG if not d.large) == sorted(
        (s, dirty) for s in vertex for dirty in (False, True))


def test_rendering_is_deterministic():
    for dataset in CATALOG[:4]:
        assert render_export(dataset) == render_export(dataset)


@pytest.mark.parametrize("dataset", CATALOG, ids=[d.display_name for d in CATALOG])
def test_a_sample_export_splits_as_its_dataset_says(tmp_path, dataset):
    export = render_export(dataset)
    if len(dataset.annotation_sets) > 1:  # the same data item in several files
        first, second = (export.files[s] for s in dataset.annotation_sets[:2])
        key = next(k for k in json.loads(first[0]) if k.endswith(("GcsUri", "Content")))
        assert {json.loads(x).get(key) for x in second} & {json.loads(x).get(key) for x in first}
    for annotation_set, lines in export.files.items():
        run = run_split(tmp_path / annotation_set, export.text(annotation_set),
                        annotation_type=dataset.schema, policy=SplitPolicy("keep"))
        want = {line: reason for (s, line), reason in export.bad_lines.items()
                if s == annotation_set}
        assert {r["line"]: r["reason"] for r in run.rejected()} == want
        assert run.manifest["rows"]["read"] == len(lines)
        inferred = run_split(tmp_path / f"{annotation_set}-inferred",
                             export.text(annotation_set), policy=SplitPolicy("keep"))
        assert inferred.manifest["source"]["annotationType"] == dataset.schema
    if dataset.schema.startswith("video"):
        uses = {json.loads(line).get("dataItemResourceLabels", {}).get(
            vertex_samples.ML_USE_LABEL) for lines in export.files.values() for line in lines}
        assert "validation" not in uses
