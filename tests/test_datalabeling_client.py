"""DataLabelingClient against the local Data Labeling server process, which exports into the
Storage emulator; and the resource names the client checks before calling."""

from __future__ import annotations

import json
import time

import google.auth
import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from labelexport import resource_names
from labelexport.datalabeling import (
    ApiPermanentError,
    DataLabelingClient,
    OperationStillRunning,
    is_loopback_http,
    output_config_for,
)
from labelexport.errors import PermanentError, TransientError

from devstack import sample_exports
from devstack.datalabeling_server import DataLabelingServer
from devstack.ports import free_port

PROJECT = "demo-project"
NAMES = sample_exports.annotated_dataset_names(PROJECT)
BOXES = NAMES["IMAGE_BOUNDING_BOX_ANNOTATION"]


@pytest.fixture(scope="module")
def export_bucket(_storage_emulator_session):
    name = f"dl-exports-{time.time_ns() % 10**9}"
    _storage_emulator_session.create_bucket(name)
    return name


@pytest.fixture(scope="module")
def _server(_storage_emulator_session):
    with DataLabelingServer(_storage_emulator_session.endpoint, PROJECT,
                            operation_delay=0.3) as server:
        yield server


@pytest.fixture
def server(_server):
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture
def client(server):
    return DataLabelingClient(server.endpoint, timeout=10)


def _read(storage_emulator, uri: str) -> bytes:
    bucket, name = uri.removeprefix("gs://").split("/", 1)
    return storage_emulator.client().bucket(bucket).blob(name).download_as_bytes()


def _export_and_wait(client, annotated_dataset, output_config) -> dict:
    operation = client.export_data(annotated_dataset, output_config)
    return client.wait_for_operation(operation["name"], timeout_seconds=20, initial_delay=0.1)


# --------------------------------------------------------------------------- the API


def test_get_annotated_dataset(client):
    dataset = client.get_annotated_dataset(BOXES)
    assert dataset["name"] == BOXES
    assert dataset["annotationType"] == "IMAGE_BOUNDING_BOX_ANNOTATION"
    assert dataset["exampleCount"] == "300"
    assert all(isinstance(n, str) for n in dataset["labelStats"]["exampleCount"].values())


def test_export_writes_the_csv_into_cloud_storage(client, server, storage_emulator,
                                                  export_bucket):
    config = output_config_for("IMAGE_BOUNDING_BOX_ANNOTATION", "csv", export_bucket,
                               "exports/flowers/flowers-boxes/run-1")
    operation = client.export_data(BOXES, config)
    assert not operation.get("done")
    done = client.wait_for_operation(operation["name"], timeout_seconds=20, initial_delay=0.1)
    assert done["done"] is True and "error" not in done
    assert done["response"]["outputConfig"] == config
    assert done["response"]["exportCount"] == 300

    uri = config["gcsDestination"]["outputUri"]
    assert uri == f"gs://{export_bucket}/exports/flowers/flowers-boxes/run-1/export.csv"
    rows = _read(storage_emulator, uri).decode().splitlines()
    assert len(rows) > 300 and all(len(row.split(",")) == 11 for row in rows)
    assert [c["body"] for c in server.calls("exportData")] == [
        {"annotatedDataset": BOXES, "filter": "", "outputConfig": config}]


@pytest.mark.parametrize("annotation_type", ["TEXT_ENTITY_EXTRACTION_ANNOTATION",
                                             "IMAGE_SEGMENTATION_ANNOTATION",
                                             "VIDEO_OBJECT_TRACKING_ANNOTATION"])
def test_jsonl_exports(client, storage_emulator, export_bucket, annotation_type):
    config = output_config_for(annotation_type, "csv" if "TEXT" in annotation_type else "jsonl",
                               export_bucket, f"exports/{annotation_type.lower()}")
    done = _export_and_wait(client, NAMES[annotation_type], config)
    assert "response" in done
    uri = (config["gcsDestination"]["outputUri"] if "gcsDestination" in config
           else config["gcsFolderDestination"]["outputFolderUri"] + "export.jsonl")
    assert uri.endswith("/export.jsonl")
    lines = _read(storage_emulator, uri).decode().splitlines()
    examples = [json.loads(line) for line in lines]
    assert len(examples) == done["response"]["totalCount"]
    assert all(e["name"].startswith(NAMES[annotation_type] + "/examples/") for e in examples)


def test_not_found_is_permanent_and_carries_the_api_message(client):
    with pytest.raises(ApiPermanentError) as raised:
        client.get_annotated_dataset(BOXES + "-nope")
    error = raised.value
    assert isinstance(error, PermanentError)
    assert (error.http_status, error.status) == (404, "NOT_FOUND")
    assert error.api_message == f"AnnotatedDataset {BOXES}-nope not found."
    assert "HTTP 404 NOT_FOUND" in str(error) and error.api_message in str(error)
    with pytest.raises(PermanentError, match="PERMISSION_DENIED"):
        client.get_annotated_dataset(BOXES.replace(PROJECT, "someone-else"))
    with pytest.raises(PermanentError, match="Operation .* not found"):
        client.get_operation(f"projects/{PROJECT}/operations/nope")


def test_invalid_request_is_permanent(client, export_bucket):
    config = output_config_for("IMAGE_BOUNDING_BOX_ANNOTATION", "csv", export_bucket, "x")
    config["gcsDestination"]["mimeType"] = "text/plain"
    with pytest.raises(ApiPermanentError, match="INVALID_ARGUMENT") as raised:
        client.export_data(BOXES, config)
    assert raised.value.http_status == 400 and "mime_type" in raised.value.api_message


@pytest.mark.parametrize("code", [503, 429])
def test_unavailable_is_transient_then_succeeds(client, server, export_bucket, code):
    server.inject_fault(code, count=1, method="exportData")
    config = output_config_for("IMAGE_CLASSIFICATION_ANNOTATION", "csv", export_bucket, "retry")
    with pytest.raises(TransientError, match=f"HTTP {code}") as raised:
        client.export_data(NAMES["IMAGE_CLASSIFICATION_ANNOTATION"], config)
    assert raised.value.http_status == code
    operation = client.export_data(NAMES["IMAGE_CLASSIFICATION_ANNOTATION"], config)
    assert operation["name"].startswith(f"projects/{PROJECT}/operations/")
    assert [c["status"] for c in server.calls("exportData")] == [code, 200]


def test_poll_faults_are_polled_through(client, server, export_bucket):
    operation = client.export_data(BOXES, output_config_for(
        "IMAGE_BOUNDING_BOX_ANNOTATION", "csv", export_bucket, "poll-fault"))
    server.inject_fault(503, count=2, method="getOperation")
    server.inject_fault(429, count=1, method="getOperation")
    done = client.wait_for_operation(operation["name"], 20, initial_delay=0.1)
    assert done["done"] and "response" in done
    assert [c["status"] for c in server.calls("getOperation")][:3] == [503, 503, 429]


def test_poll_faults_until_the_time_is_up_say_unreachable(client, server, export_bucket):
    operation = client.export_data(BOXES, output_config_for(
        "IMAGE_BOUNDING_BOX_ANNOTATION", "csv", export_bucket, "poll-outage"))
    server.inject_fault(503, count=1000, method="getOperation")
    with pytest.raises(OperationStillRunning, match="unreachable .*HTTP 503"):
        client.wait_for_operation(operation["name"], timeout_seconds=1.0, initial_delay=0.1)


def test_operation_unknown_to_the_service_ends_the_wait(client, server):
    server.inject_fault(404, count=1, method="getOperation")
    with pytest.raises(ApiPermanentError) as raised:
        client.wait_for_operation(f"projects/{PROJECT}/operations/gone", 20, initial_delay=0.1)
    assert raised.value.http_status == 404
    assert len(server.calls("getOperation")) == 1  # not polled again


def test_operation_ending_in_error_is_returned(client, server, export_bucket):
    server.fail_next_export(code=13, message="Internal error while exporting data.")
    done = _export_and_wait(client, BOXES, output_config_for(
        "IMAGE_BOUNDING_BOX_ANNOTATION", "csv", export_bucket, "failed"))
    assert done["done"] is True and "response" not in done
    assert done["error"] == {"code": 13, "message": "Internal error while exporting data."}


def test_missing_bucket_ends_the_operation_in_error(client):
    done = _export_and_wait(client, BOXES, output_config_for(
        "IMAGE_BOUNDING_BOX_ANNOTATION", "csv", "no-such-bucket-here", "x"))
    assert done["error"]["code"] == 5


def test_wait_gives_up_with_a_transient_error(client, server, export_bucket):
    server.set_operation_delay(5)
    operation = client.export_data(BOXES, output_config_for(
        "IMAGE_BOUNDING_BOX_ANNOTATION", "csv", export_bucket, "slow"))
    started = time.monotonic()
    with pytest.raises(OperationStillRunning, match="still running"):
        client.wait_for_operation(operation["name"], timeout_seconds=1.0, initial_delay=0.2)
    assert time.monotonic() - started < 2.5
    polls = server.calls("getOperation")
    assert len(polls) >= 2 and all(not c.get("body") for c in polls)


# --------------------------------------------------------------------------- transport


def test_connection_refused_is_transient():
    client = DataLabelingClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(TransientError, match="ConnectionError"):
        client.get_annotated_dataset(BOXES)


def test_sessions_are_created_lazily(monkeypatch):
    calls = []

    def fake_default(scopes=None):
        calls.append(scopes)
        return AnonymousCredentials(), "p"

    monkeypatch.setattr(google.auth, "default", fake_default)
    remote = DataLabelingClient("https://datalabeling.googleapis.com")
    local = DataLabelingClient("http://localhost:8080")
    assert calls == [] and remote._session is None
    assert isinstance(remote.session, AuthorizedSession)
    assert calls == [["https://www.googleapis.com/auth/cloud-platform"]]
    assert type(local.session) is requests.Session and len(calls) == 1


@pytest.mark.parametrize(("endpoint", "loopback"), [
    ("http://127.0.0.1:9000", True), ("http://localhost:9000/", True), ("http://[::1]:80", True),
    ("https://127.0.0.1:9000", False), ("http://10.0.0.1:9000", False),
    ("https://datalabeling.googleapis.com", False), ("http://localhost.evil.com", False),
])
def test_loopback_endpoints(endpoint, loopback):
    assert is_loopback_http(endpoint) is loopback


def test_output_configs():
    assert output_config_for("IMAGE_SEGMENTATION_ANNOTATION", "csv", "b", "/exports/r/") == {
        "gcsFolderDestination": {"outputFolderUri": "gs://b/exports/r/"}}
    assert output_config_for("TEXT_ENTITY_EXTRACTION_ANNOTATION", "csv", "b", "e") == {
        "gcsDestination": {"outputUri": "gs://b/e/export.jsonl", "mimeType": "application/json"}}
    assert output_config_for("VIDEO_EVENT_ANNOTATION", "csv", "b", "v") == {
        "gcsDestination": {"outputUri": "gs://b/v/export.csv", "mimeType": "text/csv"}}
    assert output_config_for("VIDEO_EVENT_ANNOTATION", "jsonl", "b", "v")["gcsDestination"][
        "mimeType"] == "application/json"
    with pytest.raises(PermanentError, match="'xml'"):
        output_config_for("VIDEO_EVENT_ANNOTATION", "xml", "b", "v")


# --------------------------------------------------------------------------- resource names


def test_resource_names_parse():
    name = resource_names.parse_annotated_dataset_name(BOXES)
    assert (name.project, name.dataset, name.annotated_dataset) == (
        PROJECT, "flowers", "flowers-boxes")
    assert name.dataset_name == f"projects/{PROJECT}/datasets/flowers" and str(name) == BOXES
    operation = resource_names.parse_operation_name(
        "projects/demo-project/operations/5c73dd6b_0000_2b34")
    assert (operation.project, operation.operation) == ("demo-project", "5c73dd6b_0000_2b34")
    topic = resource_names.parse_topic_name("projects/example.com:my-project/topics/results.v1")
    assert (topic.project, topic.topic) == ("example.com:my-project", "results.v1")


@pytest.mark.parametrize("value", [
    "", None, 42, "projects/p/datasets/d", "projects/p/datasets/d/annotatedDatasets/",
    "projects/p/datasets/d/annotatedDatasets/a/b", "projects/p/datasets/../annotatedDatasets/a",
    "projects/p/datasets/d/annotatedDatasets/a..b", "projects/p/datasets/d e/annotatedDatasets/a",
    "/projects/p/datasets/d/annotatedDatasets/a", "projects/p/datasets/d/annotatedDatasets/a?x=1",
])
def test_bad_annotated_dataset_names_are_permanent_errors(value):
    client = DataLabelingClient("http://127.0.0.1:9")  # never called: the name is checked first
    with pytest.raises(PermanentError, match="annotated dataset name .*projects/P/datasets/D"):
        client.get_annotated_dataset(value)


@pytest.mark.parametrize("project", [
    "abcde", "a" * 31, "1project", "Project-one", "my-project-", "my_project", "a" * 1490 +
    ".com:my-project", "x:my-project", "",
])
def test_project_ids_are_bounded_as_google_bounds_them(project):
    with pytest.raises(PermanentError, match="project id of 6 to 30"):
        resource_names.parse_annotated_dataset_name(
            f"projects/{project}/datasets/d/annotatedDatasets/a")


@pytest.mark.parametrize("project", ["abcdef", "a" * 30, "my-project-1", "example.com:my-project"])
def test_project_ids_google_allows(project):
    name = resource_names.parse_annotated_dataset_name(
        f"projects/{project}/datasets/d/annotatedDatasets/a")
    assert name.project == project


def test_other_ids_are_bounded():
    longest = "d" * resource_names.MAX_ID_CHARS
    assert resource_names.parse_annotated_dataset_name(
        f"projects/demo-project/datasets/{longest}/annotatedDatasets/{longest}")
    with pytest.raises(PermanentError, match="at most 128"):
        resource_names.parse_operation_name(f"projects/demo-project/operations/{longest}x")
    with pytest.raises(PermanentError):
        resource_names.parse_topic_name("projects/demo-project/topics/" + "t" * 256)


@pytest.mark.parametrize(("parse", "value"), [
    (resource_names.parse_operation_name, "projects/p/operations/"),
    (resource_names.parse_operation_name, "projects/p/operations/a/../b"),
    (resource_names.parse_topic_name, "projects/p/topics"),
    (resource_names.parse_topic_name, "topics/t"),
])
def test_other_bad_names(parse, value):
    with pytest.raises(PermanentError, match=repr(value).replace(".", r"\.")):
        parse(value)
