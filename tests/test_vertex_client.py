"""VertexAIClient against the local Vertex AI server process, which exports into the Storage
emulator; and the Vertex AI resource names the client checks before calling."""

from __future__ import annotations

import json
import time

import google.auth
import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from labelexport import resource_names
from labelexport.errors import ConfigError, PermanentError, TransientError
from labelexport.google_rest import ApiPermanentError, ApiTransientError
from labelexport.vertex_ai import (
    DEFAULT_ENDPOINT,
    ExportOutcome,
    VertexAIClient,
    check_endpoint_template,
    export_outcome,
)

from devstack import vertex_samples
from devstack.ports import free_port
from devstack.vertex_server import VertexAIServer

PROJECT, NUMBER = "demo-project", "123456789012"
LOCATIONS = ("us-central1", "europe-west4")
BOXES = vertex_samples.sample_for("image_bounding_box")  # two annotation sets
TRACKING = vertex_samples.sample_for("video_object_tracking", dirty=True)
NAME = BOXES.name(PROJECT, "us-central1")


@pytest.fixture(scope="module")
def export_bucket(_storage_emulator_session):
    name = f"vertex-exports-{time.time_ns() % 10**9}"
    _storage_emulator_session.create_bucket(name)
    return name


@pytest.fixture(scope="module")
def _server(_storage_emulator_session):
    with VertexAIServer(_storage_emulator_session.endpoint, PROJECT, NUMBER, LOCATIONS,
                        operation_delay=0.3) as server:
        yield server


@pytest.fixture
def server(_server):
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture
def client(server):
    return VertexAIClient(server.endpoint, timeout=10)


def _read(storage_emulator, uri: str) -> str:
    bucket, name = uri.removeprefix("gs://").split("/", 1)
    return storage_emulator.client().bucket(bucket).blob(name).download_as_text()


def _export_and_wait(client, dataset: str, prefix: str, annotations_filter: str = "") -> dict:
    operation = client.export_data(dataset, prefix, annotations_filter)
    return client.wait_for_operation(operation["name"], timeout_seconds=20, initial_delay=0.1)


# --------------------------------------------------------------------------- the API


def test_get_dataset(client):
    dataset = client.get_dataset(NAME)
    assert dataset["name"] == BOXES.name(NUMBER, "us-central1")
    assert dataset["displayName"] == "image-bounding-box"
    assert dataset["metadataSchemaUri"] == (
        "gs://google-cloud-aiplatform/schema/dataset/metadata/image_1.0.0.yaml")
    assert client.get_dataset(BOXES.name(NUMBER, "europe-west4"))["displayName"] == (
        "image-bounding-box")


def test_export_writes_every_annotation_set_into_cloud_storage(client, server, storage_emulator,
                                                                export_bucket):
    prefix = f"gs://{export_bucket}/exports/vertex/run-1/"
    operation = client.export_data(NAME, prefix)
    assert not operation.get("done")
    assert [c["body"] for c in server.calls("exportData")] == [{"exportConfig": {
        "gcsDestination": {"outputUriPrefix": prefix}, "annotationsFilter": ""}}]
    done = client.wait_for_operation(operation["name"], timeout_seconds=20, initial_delay=0.1)
    outcome = export_outcome(done)
    assert outcome.error is None and outcome.partial_failures == ()
    assert outcome.output_directory.startswith(f"{prefix}export-data-image-bounding-box-")
    assert [uri.removeprefix(outcome.output_directory) for uri in outcome.exported_files] == [
        "ImageBoundingBox/data-00001-of-00002.jsonl", "ImageBoundingBox/data-00002-of-00002.jsonl"]

    rendered = vertex_samples.render_export(BOXES)
    texts = [_read(storage_emulator, uri) for uri in outcome.exported_files]
    assert texts == [rendered.text(s) for s in BOXES.annotation_sets]
    items = [{json.loads(line)["imageGcsUri"] for line in text.splitlines()} for text in texts]
    assert items[0] & items[1]  # an item labeled in both annotation sets is in both files
    schema = _read(storage_emulator, f"{outcome.output_directory}ImageBoundingBox/schema.yaml")
    assert schema.startswith("title: ImageBoundingBox\n")


def test_the_annotations_filter_is_sent_and_applied(client, server, storage_emulator,
                                                    export_bucket):
    wanted = "labels.aiplatform.googleapis.com/annotation_set_name=labels-b"
    outcome = export_outcome(_export_and_wait(client, NAME, f"gs://{export_bucket}/f", wanted))
    [uri] = outcome.exported_files
    assert _read(storage_emulator, uri) == vertex_samples.render_export(BOXES).text("labels-b")
    [call] = server.calls("exportData")
    assert call["body"]["exportConfig"]["annotationsFilter"] == wanted


def test_a_dirty_export_and_its_bad_lines(client, server, storage_emulator, export_bucket):
    outcome = export_outcome(_export_and_wait(client, TRACKING.name(NUMBER, "europe-west4"),
                                              f"gs://{export_bucket}/dirty"))
    [written] = server.exports()
    assert [f["uri"] for f in written["files"]] == list(outcome.exported_files)
    assert [f["annotationSet"] for f in written["files"]] == ["labels-a", "labels-b"]
    for set_index, file in enumerate(written["files"]):
        lines = _read(storage_emulator, file["uri"]).splitlines()
        assert len(lines) == file["lines"]
        assert file["badLines"] == {str(2 + set_index): "missing_field",
                                    str(5 + set_index): "unknown_ml_use"}
        assert "videoGcsUri" not in json.loads(lines[1 + set_index])


def test_not_found_and_denied_are_permanent_and_carry_the_api_message(client):
    with pytest.raises(ApiPermanentError) as raised:
        client.get_dataset(f"projects/{PROJECT}/locations/us-central1/datasets/17")
    error = raised.value
    assert isinstance(error, PermanentError)
    assert (error.http_status, error.status) == (404, "NOT_FOUND")
    assert error.api_message == "The Dataset does not exist."
    assert "Vertex AI API GET" in str(error) and "HTTP 404 NOT_FOUND" in str(error)
    with pytest.raises(ApiPermanentError, match="PERMISSION_DENIED") as denied:
        client.get_dataset(BOXES.name("someone-else", "us-central1"))
    assert denied.value.http_status == 403
    with pytest.raises(ApiPermanentError, match="does not exist"):
        client.get_dataset(BOXES.name(PROJECT, "asia-east1"))
    with pytest.raises(ApiPermanentError, match="is not found"):
        client.get_operation(f"{NAME}/operations/1000000000000000000")


def test_an_unwritable_bucket_ends_the_operation_in_error(client):
    outcome = export_outcome(_export_and_wait(client, NAME, "gs://no-such-bucket-here/x"))
    assert outcome.error["code"] == 5 and outcome.exported_files == ()


@pytest.mark.parametrize("code", [503, 429])
def test_unavailable_is_transient_then_succeeds(client, server, export_bucket, code):
    server.inject_fault(code, count=1, method="exportData")
    with pytest.raises(ApiTransientError, match=f"HTTP {code}") as raised:
        client.export_data(NAME, f"gs://{export_bucket}/retry")
    assert isinstance(raised.value, TransientError) and raised.value.http_status == code
    operation = client.export_data(NAME, f"gs://{export_bucket}/retry")
    assert operation["name"].startswith(f"{BOXES.name(NUMBER, 'us-central1')}/operations/")
    assert [c["status"] for c in server.calls("exportData")] == [code, 200]


def test_transient_poll_faults_are_retried_inside_the_wait(client, server, export_bucket):
    operation = client.export_data(NAME, f"gs://{export_bucket}/poll-fault")
    server.inject_fault(503, count=2, method="getOperation")
    done = client.wait_for_operation(operation["name"], timeout_seconds=20, initial_delay=0.1)
    assert export_outcome(done).error is None
    assert [c["status"] for c in server.calls("getOperation")][:3] == [503, 503, 200]


def test_a_poll_that_keeps_failing_ends_the_wait_with_its_error(client, server, export_bucket):
    operation = client.export_data(NAME, f"gs://{export_bucket}/poll-down")
    server.inject_fault(503, count=1000, method="getOperation")
    with pytest.raises(TransientError, match="last poll failed: .*HTTP 503 UNAVAILABLE"):
        client.wait_for_operation(operation["name"], timeout_seconds=1.0, initial_delay=0.1)


def test_a_permanent_poll_error_ends_the_wait_at_once(client, server):
    started = time.monotonic()
    with pytest.raises(ApiPermanentError, match="is not found"):
        client.wait_for_operation(f"{NAME}/operations/1000000000000000000", 20,
                                  initial_delay=0.1)
    assert time.monotonic() - started < 2 and len(server.calls("getOperation")) == 1


def test_operation_ending_in_error(client, server, storage_emulator, export_bucket):
    server.fail_next_export(code=13, message="Internal error while exporting data.",
                            writtenFiles=1)
    done = _export_and_wait(client, NAME, f"gs://{export_bucket}/failed")
    outcome = export_outcome(done)
    assert outcome.error == {"code": 13, "message": "Internal error while exporting data."}
    assert outcome.exported_files == ()
    [written] = server.exports()
    assert len(written["files"]) == 1 and _read(storage_emulator, written["files"][0]["uri"])


def test_partial_failures_are_part_of_the_outcome(client, server, export_bucket):
    failures = [{"code": 3, "message": "2 data items could not be exported."}]
    server.set_partial_failures(failures)
    outcome = export_outcome(_export_and_wait(client, NAME, f"gs://{export_bucket}/partial"))
    assert outcome.partial_failures == tuple(failures) and len(outcome.exported_files) == 2


def test_wait_gives_up_with_a_transient_error(client, server, export_bucket):
    server.set_operation_delay(5)
    operation = client.export_data(NAME, f"gs://{export_bucket}/slow")
    started = time.monotonic()
    with pytest.raises(TransientError, match="still running"):
        client.wait_for_operation(operation["name"], timeout_seconds=1.0, initial_delay=0.2)
    assert time.monotonic() - started < 2.5
    polls = server.calls("getOperation")
    assert len(polls) >= 2 and all(c["path"].startswith("/v1/") for c in polls)


# --------------------------------------------------------------------------- outcomes


def test_export_outcome_refuses_what_is_not_a_done_export():
    with pytest.raises(PermanentError, match="not done"):
        export_outcome({"name": "op", "metadata": {}})
    with pytest.raises(PermanentError, match="not a datasets.export operation"):
        export_outcome({"name": "op", "done": True, "metadata": {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.ImportDataOperationMetadata"}})
    with pytest.raises(PermanentError, match="ExportDataResponse"):
        export_outcome({"name": "op", "done": True, "response": {"@type": "x"}})
    with pytest.raises(PermanentError, match="gs:// URIs"):
        export_outcome({"name": "op", "done": True, "response": {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.ExportDataResponse",
            "exportedFiles": ["/etc/passwd"]}})
    assert export_outcome({"done": True, "error": {"code": 7, "message": "denied"}}) == (
        ExportOutcome({"code": 7, "message": "denied"}, (), (), None))


# --------------------------------------------------------------------------- transport


def test_connection_refused_is_transient():
    client = VertexAIClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(TransientError, match="ConnectionError"):
        client.get_dataset(NAME)


def test_the_endpoint_is_the_datasets_region():
    client = VertexAIClient()
    assert client.endpoint == DEFAULT_ENDPOINT
    assert client.endpoint_for("europe-west4") == "https://europe-west4-aiplatform.googleapis.com"
    assert VertexAIClient("http://127.0.0.1:8080/").endpoint_for("us-east1") == (
        "http://127.0.0.1:8080")


@pytest.mark.parametrize("template", [
    "", "aiplatform.googleapis.com", "ftp://{location}-aiplatform.googleapis.com",
    "https://aiplatform.googleapis.com/{location}", "https://{location}-x.com/v1",
    "https://{location}{location}.example.com", "https://x.com?a=1",
])
def test_bad_endpoint_templates_are_config_errors(template):
    with pytest.raises(ConfigError, match="VERTEX_ENDPOINT"):
        check_endpoint_template(template)


def test_sessions_are_created_lazily_without_credentials_on_loopback(monkeypatch):
    calls = []

    def fake_default(scopes=None):
        calls.append(scopes)
        return AnonymousCredentials(), "p"

    monkeypatch.setattr(google.auth, "default", fake_default)
    remote = VertexAIClient()
    local = VertexAIClient("http://localhost:8080")
    assert calls == [] and remote._session is None
    assert isinstance(remote.session, AuthorizedSession)
    assert calls == [["https://www.googleapis.com/auth/cloud-platform"]]
    assert type(local.session) is requests.Session and len(calls) == 1


@pytest.mark.parametrize(("prefix", "annotations_filter"), [
    ("https://bucket/x", ""), ("gs://B/x", ""), ("gs://bucket/../x", ""), ("gs://bucket/a b", ""),
    ("gs://bucket/x?alt=media", ""), ("gs://bucket/a\x00b", ""), (None, ""),
    ("gs://bucket/x", None),
])
def test_bad_export_arguments_are_permanent_errors_before_any_call(prefix, annotations_filter):
    client = VertexAIClient("http://127.0.0.1:9")  # never called: the arguments are checked
    with pytest.raises(PermanentError, match="gs://bucket/folder/|annotationsFilter"):
        client.export_data(NAME, prefix, annotations_filter)


# --------------------------------------------------------------------------- resource names


def test_vertex_names_parse():
    name = resource_names.parse_vertex_dataset_name(NAME)
    assert (name.project, name.location, name.dataset) == (PROJECT, "us-central1",
                                                           BOXES.dataset_id)
    assert str(name) == NAME
    number = resource_names.parse_vertex_dataset_name(
        "projects/123456789012/locations/northamerica-northeast1/datasets/9223372036854775807")
    assert (number.project, number.location) == ("123456789012", "northamerica-northeast1")
    operation = resource_names.parse_vertex_operation_name(f"{NAME}/operations/77")
    assert (operation.dataset, operation.operation) == (BOXES.dataset_id, "77")
    assert str(operation) == f"{NAME}/operations/77"
    regional = resource_names.parse_vertex_operation_name(
        "projects/p-12345/locations/europe-west4/operations/5")
    assert regional.dataset is None and str(regional).endswith("europe-west4/operations/5")


BAD_DATASET_NAMES = [
    "", None, 42, "projects/demo-project/locations/us-central1/datasets/",
    "projects/demo-project/locations/us-central1/datasets/flowers",  # not numeric
    "projects/demo-project/locations/us-central1/datasets/0123",
    "projects/demo-project/locations/us-central1/datasets/9223372036854775808",  # > int64
    "projects/demo-project/locations/us-central1/datasets/1/annotations",
    "projects/demo-project/locations/global/datasets/1",
    "projects/demo-project/locations/US-CENTRAL1/datasets/1",
    "projects/demo-project/locations/us-central1.evil.com/datasets/1",
    "projects/demo-project/locations/us-central1@evil/datasets/1",
    "projects/demo-project/locations/../datasets/1",
    "projects/demo/locations/us-central1/datasets/1",  # a project id has 6 to 30 characters
    "projects/Demo-Project/locations/us-central1/datasets/1",
    "projects/demo-project-/locations/us-central1/datasets/1",
    "projects/1demo-project/locations/us-central1/datasets/1",
    "projects/example.com:proj/locations/us-central1/datasets/1",
    "projects/a234567890123456789012345678901/locations/us-central1/datasets/1",
    "/projects/demo-project/locations/us-central1/datasets/1",
    "projects/demo-project/locations/us-central1/datasets/1?alt=media",
    "projects/demo-project/locations/us-central1/datasets/1 ",
    "projects/demo-project/datasets/1/annotatedDatasets/a",
]


@pytest.mark.parametrize("value", BAD_DATASET_NAMES)
def test_bad_vertex_dataset_names_are_permanent_errors(value):
    client = VertexAIClient("http://127.0.0.1:9")  # never called: the name is checked first
    with pytest.raises(PermanentError, match="Vertex AI dataset name"):
        client.get_dataset(value)
    with pytest.raises(PermanentError, match="Vertex AI dataset name"):
        client.export_data(value, "gs://bucket/x")


@pytest.mark.parametrize("value", [
    f"{NAME}/operations/", f"{NAME}/operations/abc", f"{NAME}/operations/1/../2",
    "projects/demo-project/operations/1", f"{NAME}/operations/99999999999999999999",
    "projects/demo-project/locations/us-central1/datasets/1/dataItems/2/operations/3",
])
def test_bad_vertex_operation_names_are_permanent_errors(value):
    client = VertexAIClient("http://127.0.0.1:9")
    with pytest.raises(PermanentError, match="Vertex AI operation name"):
        client.get_operation(value)
