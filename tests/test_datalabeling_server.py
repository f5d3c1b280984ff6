"""The local Data Labeling server's REST surface, validation and test controls, in process
(Flask's test client; exports go to a dict instead of Cloud Storage)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from google.api_core import exceptions as api_exceptions

from devstack import sample_exports
from devstack.datalabeling_server import EXPORT_FOLDER_FILE, create_app

PROJECT = "demo-project"
BOXES = sample_exports.annotated_dataset_names(PROJECT)["IMAGE_BOUNDING_BOX_ANNOTATION"]
ENTITIES = sample_exports.annotated_dataset_names(PROJECT)["TEXT_ENTITY_EXTRACTION_ANNOTATION"]
SEGMENTATION = sample_exports.annotated_dataset_names(PROJECT)["IMAGE_SEGMENTATION_ANNOTATION"]
EXPORT_URL = f"/v1beta1/projects/{PROJECT}/datasets/flowers:exportData"
CSV_DESTINATION = {"gcsDestination": {"outputUri": "gs://exports/run/export.csv",
                                      "mimeType": "text/csv"}}


class MemoryWriter:
    def __init__(self):
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.error: Exception | None = None

    def __call__(self, uri: str, data: bytes, content_type: str) -> None:
        if self.error is not None:
            raise self.error
        self.objects[uri] = (data, content_type)


@pytest.fixture
def writer():
    return MemoryWriter()


@pytest.fixture
def api(writer):
    return create_app(PROJECT, writer, operation_delay=0.0).test_client()


def _wait_done(api, name: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        operation = api.get(f"/v1beta1/{name}").get_json()
        if operation.get("done") or time.monotonic() > deadline:
            return operation
        time.sleep(0.02)


def _export(api, body: dict, url: str = EXPORT_URL):
    return api.post(url, json=body)


@pytest.mark.parametrize("sample", sample_exports.CATALOG, ids=lambda s: s.annotated_dataset_id)
def test_get_annotated_dataset(api, sample):
    answer = api.get(f"/v1beta1/{sample.name(PROJECT)}")
    assert answer.status_code == 200
    dataset = answer.get_json()
    assert dataset["name"] == sample.name(PROJECT)
    assert dataset["annotationType"] == sample.annotation_type
    assert dataset["annotationSource"] == "OPERATOR"
    assert dataset["exampleCount"] == dataset["completedExampleCount"] == str(
        sample.example_count)
    stats = dataset["labelStats"]["exampleCount"]
    assert stats and all(isinstance(n, str) and int(n) > 0 for n in stats.values())
    assert dataset["blockingResources"] == [] and dataset["createTime"].endswith("Z")
    assert "humanAnnotationConfig" in dataset["metadata"]


def test_unknown_resources_are_not_found_and_other_projects_denied(api):
    answer = api.get(f"/v1beta1/projects/{PROJECT}/datasets/flowers/annotatedDatasets/nope")
    assert answer.status_code == 404
    assert answer.get_json()["error"] == {
        "code": 404, "status": "NOT_FOUND",
        "message": f"AnnotatedDataset projects/{PROJECT}/datasets/flowers/annotatedDatasets/nope"
                   " not found."}
    assert api.get(f"/v1beta1/projects/{PROJECT}/operations/nope").status_code == 404
    other = api.get(f"/v1beta1/{BOXES.replace(PROJECT, 'other-project')}")
    assert other.status_code == 403
    assert other.get_json()["error"]["status"] == "PERMISSION_DENIED"
    assert api.get("/v1beta1/elsewhere").get_json()["error"]["status"] == "NOT_FOUND"


def test_export_runs_as_an_operation(api, writer):
    answer = _export(api, {"annotatedDataset": BOXES, "filter": "", "outputConfig":
                           CSV_DESTINATION})
    assert answer.status_code == 200
    operation = answer.get_json()
    assert operation["name"].startswith(f"projects/{PROJECT}/operations/")
    assert "done" not in operation and "response" not in operation
    metadata = operation["metadata"]
    assert metadata["@type"].endswith("v1beta1.ExportDataOperationMetadata")
    assert metadata["dataset"] == f"projects/{PROJECT}/datasets/flowers"
    assert metadata["partialFailures"] == []

    done = _wait_done(api, operation["name"])
    assert done["done"] is True and "error" not in done
    response = done["response"]
    assert response["@type"].endswith("v1beta1.ExportDataOperationResponse")
    sample = sample_exports.find_sample("flowers", BOXES.rsplit("/", 1)[1])
    assert response["totalCount"] == response["exportCount"] == sample.example_count
    assert response["outputConfig"] == CSV_DESTINATION
    assert response["labelStats"]["exampleCount"] == sample_exports.label_stats(
        list(sample_exports.generate_examples(sample)))
    data, content_type = writer.objects["gs://exports/run/export.csv"]
    assert data == sample_exports.render_export(sample, PROJECT, "csv").data
    assert content_type == "text/csv"


def test_segmentation_exports_into_a_folder(api, writer):
    body = {"annotated_dataset": SEGMENTATION,
            "output_config": {"gcs_folder_destination": {"output_folder_uri": "gs://exports/s"}}}
    done = _wait_done(api, _export(api, body).get_json()["name"])
    assert done["response"]["outputConfig"] == {
        "gcsFolderDestination": {"outputFolderUri": "gs://exports/s"}}
    data, _ = writer.objects[f"gs://exports/s/{EXPORT_FOLDER_FILE}"]
    assert data.count(b"\n") == 300


def test_snake_case_field_names_are_accepted(api, writer):
    url = f"/v1beta1/projects/{PROJECT}/datasets/news-articles:exportData"
    body = {"annotatedDataset": ENTITIES, "outputConfig": {"gcsDestination": {
        "output_uri": "gs://exports/e/export.jsonl", "mime_type": "application/json"}}}
    done = _wait_done(api, _export(api, body, url).get_json()["name"])
    assert done["response"]["outputConfig"]["gcsDestination"]["outputUri"].endswith(".jsonl")
    assert "gs://exports/e/export.jsonl" in writer.objects


def _destination(uri="gs://exports/run/export.csv", mime_type="text/csv"):
    return {"gcsDestination": {"outputUri": uri, "mimeType": mime_type}}


INVALID = {
    "no annotated dataset": ({"outputConfig": _destination()}, 400, "annotated_dataset"),
    "annotated dataset of another dataset": (
        {"annotatedDataset": ENTITIES, "outputConfig": _destination()}, 400, "not an annotated"),
    "no output config": ({"annotatedDataset": BOXES}, 400, "output_config is required"),
    "two destinations": ({"annotatedDataset": BOXES, "outputConfig": {
        **_destination(), "gcsFolderDestination": {"outputFolderUri": "gs://b/f"}}},
        400, "exactly one"),
    "no destination": ({"annotatedDataset": BOXES, "outputConfig": {}}, 400, "exactly one"),
    "not a gs:// URI": ({"annotatedDataset": BOXES,
                         "outputConfig": _destination("https://b/x.csv")}, 400, "gs://"),
    "a folder as output URI": ({"annotatedDataset": BOXES,
                                "outputConfig": _destination("gs://b/x/")}, 400, "gs://"),
    "unknown MIME type": ({"annotatedDataset": BOXES,
                           "outputConfig": _destination(mime_type="text/plain")}, 400,
                          "mime_type"),
    "folder for boxes": ({"annotatedDataset": BOXES, "outputConfig": {
        "gcsFolderDestination": {"outputFolderUri": "gs://b/f"}}}, 400, "segmentation"),
    "file for segmentation": ({"annotatedDataset": SEGMENTATION,
                               "outputConfig": _destination()}, 400, "folder"),
    "unknown field": ({"annotatedDataset": BOXES, "outputConfig": _destination(),
                       "format": "csv"}, 400, 'Unknown name "format"'),
    "both spellings": ({"annotatedDataset": BOXES, "annotated_dataset": BOXES,
                        "outputConfig": _destination()}, 400, "twice"),
    "unknown annotated dataset": ({"annotatedDataset": BOXES + "-nope",
                                   "outputConfig": _destination()}, 404, "not found"),
}


@pytest.mark.parametrize("case", INVALID)
def test_invalid_export_requests(api, writer, case):
    body, code, message = INVALID[case]
    answer = _export(api, body)
    assert answer.status_code == code
    error = answer.get_json()["error"]
    assert error["code"] == code and message in error["message"]
    assert error["status"] == {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}[code]


def test_jsonl_only_types_refuse_csv(api):
    url = f"/v1beta1/projects/{PROJECT}/datasets/news-articles:exportData"
    answer = _export(api, {"annotatedDataset": ENTITIES, "outputConfig": _destination()}, url)
    assert answer.status_code == 400
    assert "application/json" in answer.get_json()["error"]["message"]


def test_unknown_dataset_and_bad_bodies(api):
    url = f"/v1beta1/projects/{PROJECT}/datasets/nope:exportData"
    body = {"annotatedDataset": f"projects/{PROJECT}/datasets/nope/annotatedDatasets/a",
            "outputConfig": _destination()}
    assert _export(api, body, url).status_code == 404
    assert api.post(EXPORT_URL, data="not json").status_code == 400
    assert api.post(EXPORT_URL, json=[1]).status_code == 400


def test_faults_answer_the_next_calls_of_a_method(api):
    assert api.post("/_devstack/faults", json={"code": 503, "count": 2,
                                               "method": "getAnnotatedDataset"}).status_code == 200
    first, second, third = (api.get(f"/v1beta1/{BOXES}") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.get_json()["error"]["status"] == "UNAVAILABLE"

    api.post("/_devstack/faults", json={"code": 429})
    answer = _export(api, {"annotatedDataset": BOXES, "outputConfig": CSV_DESTINATION})
    assert answer.status_code == 429
    assert answer.get_json()["error"]["status"] == "RESOURCE_EXHAUSTED"

    calls = api.get("/_devstack/calls?method=getAnnotatedDataset").get_json()["calls"]
    assert [c["status"] for c in calls] == [503, 503, 200]
    export_calls = api.get("/_devstack/calls?method=exportData").get_json()["calls"]
    assert export_calls[0]["body"]["annotatedDataset"] == BOXES
    assert export_calls[0]["path"] == EXPORT_URL

    assert api.post("/_devstack/faults", json={"method": "listDatasets"}).status_code == 400
    api.post("/_devstack/reset")
    assert api.get("/_devstack/calls").get_json()["calls"] == []


def test_next_export_can_be_made_to_fail(api, writer):
    api.post("/_devstack/fail-next-export", json={"code": 9, "message": "labeling not done"})
    body = {"annotatedDataset": BOXES, "outputConfig": CSV_DESTINATION}
    failed = _wait_done(api, _export(api, body).get_json()["name"])
    assert failed["done"] is True and "response" not in failed
    assert failed["error"] == {"code": 9, "message": "labeling not done"}
    assert writer.objects == {}
    assert "response" in _wait_done(api, _export(api, body).get_json()["name"])


def test_storage_failure_ends_the_operation_in_error(api, writer):
    writer.error = api_exceptions.NotFound("no such bucket")
    body = {"annotatedDataset": BOXES, "outputConfig": CSV_DESTINATION}
    failed = _wait_done(api, _export(api, body).get_json()["name"])
    assert failed["error"]["code"] == 5 and "does not exist" in failed["error"]["message"]


def test_operation_delay(api):
    api.post("/_devstack/operation-delay", json={"seconds": 0.5})
    body = {"annotatedDataset": BOXES, "outputConfig": CSV_DESTINATION}
    name = _export(api, body).get_json()["name"]
    time.sleep(0.1)
    assert "done" not in api.get(f"/v1beta1/{name}").get_json()
    assert _wait_done(api, name)["done"] is True


def test_catalog_lists_the_bad_lines(api):
    entries = api.get("/_devstack/catalog").get_json()["annotatedDatasets"]
    dirty = {e["name"]: e["badLines"] for e in entries if e["dirty"]}
    assert set(dirty) == set(sample_exports.annotated_dataset_names(PROJECT, dirty=True).values())
    for bad_lines in dirty.values():
        assert all(len(lines) >= 4 for lines in bad_lines.values())


def test_command_line_needs_a_storage_emulator():
    finished = subprocess.run([sys.executable, "-m", "devstack.datalabeling_server",
                               "--port", "0"], capture_output=True, text=True, timeout=30,
                              env={"PATH": "/usr/bin:/bin"})
    assert finished.returncode == 2 and "STORAGE_EMULATOR_HOST" in finished.stderr
