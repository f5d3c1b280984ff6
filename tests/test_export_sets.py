"""The export set document: rendered deterministically, read back, and refused with a reason
naming the field when a person's hand-written one is wrong."""

from __future__ import annotations

import json

import pytest
from labelexport import export_sets
from labelexport.errors import SourceError
from labelexport.export_sets import ExportSet, SetFile

SET = ExportSet(run_id="r1", backend="vertex",
                dataset="projects/p/locations/us-central1/datasets/123",
                annotation_type="image_bounding_box", format="jsonl",
                files=(SetFile("gs://b/exports/x/a.jsonl", 17, 1000),
                       SetFile("gs://b/exports/x/b.jsonl", 18, 20)),
                annotation_type_source="dataset_schema")


def test_a_set_renders_to_the_same_bytes_and_reads_back():
    data = export_sets.render(SET)
    assert data == export_sets.render(SET)
    assert export_sets.parse(data, "gs://b/set.json") == SET
    document = json.loads(data)
    assert document["files"][0] == {"uri": "gs://b/exports/x/a.jsonl", "generation": "17",
                                    "size": "1000"}


def test_a_hand_written_set_needs_only_kind_backend_and_files():
    data = json.dumps({"kind": "labelexport#exportSet", "backend": "datalabeling",
                       "files": [{"uri": "gs://b/x.jsonl", "generation": 5}]}).encode()
    parsed = export_sets.parse(data, "set.json")
    assert parsed.files == (SetFile("gs://b/x.jsonl", 5, 0),)
    assert parsed.annotation_type is None and parsed.format == "jsonl"


def _with(**changes) -> bytes:
    document = json.loads(export_sets.render(SET))
    for key, value in changes.items():
        if value is None:
            document.pop(key)
        else:
            document[key] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize(("data", "message"), [
    (b"{not json", "not JSON"),
    (b"[]", "not an export set"),
    (_with(kind="other"), "kind"),
    (_with(backend="s3"), "backend"),
    (_with(format="xml"), "format"),
    (_with(annotationType="BOXES"), "annotationType"),
    (_with(files=[]), "files must be a non-empty list"),
    (_with(files=None), "files must be a non-empty list"),
    (_with(files=["gs://b/x"]), "files[0] is not an object"),
    (_with(files=[{"uri": "s3://b/x", "generation": "1"}]), "files[0].uri"),
    (_with(files=[{"uri": "gs://b/x", "generation": "one"}]), "files[0].generation"),
    (_with(files=[{"uri": "gs://b/x", "generation": True}]), "files[0].generation"),
    (_with(files=[{"uri": "gs://b/x", "generation": "1", "size": -3}]), "files[0].size"),
    (_with(files=[{"uri": "gs://b/x", "generation": "1"}] * 2), "listed twice"),
    (b" " * (export_sets.MAX_SET_BYTES + 1), "over"),
])
def test_a_wrong_set_is_refused_naming_what_is_wrong(data, message):
    with pytest.raises(SourceError) as raised:
        export_sets.parse(data, "gs://b/exports/x/export-set.json")
    assert message in str(raised.value)
