"""Every JSON answer of the local Vertex AI server parses into Google's own v1 messages
(json_format.Parse, unknown fields refused), and Google's own client,
`aiplatform_v1.DatasetServiceClient` on its REST transport, drives the server: it gets a
dataset, exports it and follows the operation to its result, which is in Cloud Storage."""

from __future__ import annotations

import json
import time

import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform_v1
from google.longrunning import operations_pb2
from google.protobuf import json_format
from google_json import assert_error_envelope, parse, parse_error_answer
from test_datalabeling_server import MemoryWriter
from test_vertex_server import INVALID, export_body

from devstack import vertex_samples
from devstack.vertex_server import VertexAIServer, create_app

PROJECT, NUMBER, LOCATION = "demo-project", "123456789012", "us-central1"
BOXES = vertex_samples.sample_for("image_bounding_box")


def _pb(message_class):
    return message_class.pb()


# --------------------------------------------------------------------------- in process


@pytest.fixture
def writer():
    return MemoryWriter()


@pytest.fixture
def api(writer):
    return create_app(writer, PROJECT, NUMBER, (LOCATION,), operation_delay=0.0).test_client()


def _operation(answer) -> operations_pb2.Operation:
    assert answer.status_code == 200, answer.get_json()
    return parse(answer.data, operations_pb2.Operation)


def _done(api, name: str):
    deadline = time.monotonic() + 10
    while True:
        answer = api.get(f"/v1/{name}")
        if answer.get_json().get("done") or time.monotonic() > deadline:
            return answer
        time.sleep(0.02)


def _unpack(any_message, message_class):
    unpacked = _pb(message_class)()
    assert any_message.Unpack(unpacked), any_message.type_url
    return unpacked


@pytest.mark.parametrize("dataset", vertex_samples.CATALOG, ids=lambda d: d.display_name)
def test_datasets_parse(api, dataset):
    answer = api.get(f"/v1/{dataset.name(PROJECT, LOCATION)}")
    parsed = aiplatform_v1.Dataset.wrap(parse(answer.data, _pb(aiplatform_v1.Dataset)))
    assert parsed.name == dataset.name(NUMBER, LOCATION)
    assert parsed.display_name == dataset.display_name
    assert parsed.metadata_schema_uri == dataset.metadata_schema_uri
    assert parsed.data_item_count == dataset.items
    assert parsed.create_time < parsed.update_time


@pytest.mark.parametrize("dataset", vertex_samples.CATALOG, ids=lambda d: d.display_name)
def test_export_operations_parse_with_their_metadata_and_response(api, dataset):
    url = f"/v1/{dataset.name(PROJECT, LOCATION)}:export"
    started = _operation(api.post(url, json=export_body("gs://exports/protos")))
    metadata = _unpack(started.metadata, aiplatform_v1.ExportDataOperationMetadata)
    assert metadata.gcs_output_directory.startswith(
        f"gs://exports/protos/export-data-{dataset.display_name}-")
    assert metadata.generic_metadata.create_time.seconds > 0

    done = _operation(_done(api, started.name))
    assert done.done and done.WhichOneof("result") == "response"
    response = _unpack(done.response, aiplatform_v1.ExportDataResponse)
    assert len(response.exported_files) == len(dataset.annotation_sets)
    assert all(uri.startswith(metadata.gcs_output_directory) for uri in response.exported_files)
    done_metadata = _unpack(done.metadata, aiplatform_v1.ExportDataOperationMetadata)
    assert done_metadata.generic_metadata.update_time.ToNanoseconds() >= (
        metadata.generic_metadata.create_time.ToNanoseconds())


def test_partial_failures_and_errors_are_google_rpc_statuses(api):
    url = f"/v1/{BOXES.name(PROJECT, LOCATION)}:export"
    api.post("/_devstack/partial-failures", json={"failures": [
        {"code": 3, "message": "1 data item could not be exported."}]})
    done = _operation(_done(api, api.post(url, json=export_body()).get_json()["name"]))
    metadata = _unpack(done.metadata, aiplatform_v1.ExportDataOperationMetadata)
    [failure] = metadata.generic_metadata.partial_failures
    assert (failure.code, failure.message) == (3, "1 data item could not be exported.")

    api.post("/_devstack/fail-next-export", json={"code": 9, "message": "annotations changed"})
    failed = _operation(_done(api, api.post(url, json=export_body()).get_json()["name"]))
    assert failed.WhichOneof("result") == "error"
    assert (failed.error.code, failed.error.message) == (9, "annotations changed")


ERROR_ANSWERS = {
    "not found": ("GET", f"/v1/projects/{PROJECT}/locations/{LOCATION}/datasets/17", None, 404),
    "other project": ("GET", f"/v1/{BOXES.name('other-project', LOCATION)}", None, 403),
    "not a dataset id": ("GET", f"/v1/projects/{PROJECT}/locations/{LOCATION}/datasets/x",
                         None, 400),
    "no such operation": (
        "GET", f"/ui/{BOXES.name(NUMBER, LOCATION)}/operations/1000000000000000000", None, 404),
    "no such route": ("GET", "/v1/elsewhere", None, 404),
    "wrong method": ("DELETE", f"/v1/{BOXES.name(PROJECT, LOCATION)}", None, 405),
    "not JSON": ("POST", f"/v1/{BOXES.name(PROJECT, LOCATION)}:export", "x", 400),
    **{f"invalid request: {case}": (
        "POST", f"/v1/{BOXES.name(PROJECT, LOCATION)}:export", body, code)
       for case, (body, code, _) in INVALID.items()},
}


@pytest.mark.parametrize("case", ERROR_ANSWERS)
def test_error_answers_parse_as_googles_error_envelope(api, case):
    assert_error_envelope(api, *ERROR_ANSWERS[case])


@pytest.mark.parametrize("code", [429, 500, 503, 504])
def test_injected_faults_parse_as_googles_error_envelope(api, code):
    api.post("/_devstack/faults", json={"code": code})
    answer = api.get(f"/v1/{BOXES.name(PROJECT, LOCATION)}")
    assert answer.status_code == code
    parse_error_answer(answer)


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
def _server(_storage_emulator_session):
    with VertexAIServer(_storage_emulator_session.endpoint, PROJECT, NUMBER,
                        operation_delay=0.3) as running:
        yield running


@pytest.fixture
def server(_server):
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture(scope="module")
def export_bucket(_storage_emulator_session):
    name = f"vertex-protos-{time.time_ns() % 10**9}"
    _storage_emulator_session.create_bucket(name)
    return name


@pytest.fixture
def google_client(server):
    """Google's own client, on its REST transport, pointed at the server over plain http."""
    return aiplatform_v1.DatasetServiceClient(
        transport="rest", client_options={"api_endpoint": server.endpoint},
        credentials=AnonymousCredentials())


def test_googles_client_gets_a_dataset(server, google_client):
    dataset = google_client.get_dataset(name=server.dataset_name(BOXES))
    assert isinstance(dataset, aiplatform_v1.Dataset)
    assert dataset.name == server.dataset_name(BOXES, by_number=True)
    assert dataset.display_name == BOXES.display_name
    assert dataset.metadata_schema_uri == BOXES.metadata_schema_uri


@pytest.mark.parametrize("schema", ["image_bounding_box", "text_extraction",
                                    "video_object_tracking"])
def test_googles_client_exports_and_follows_the_operation(server, google_client, export_bucket,
                                                          storage_emulator, schema):
    dataset = vertex_samples.sample_for(schema)
    prefix = f"gs://{export_bucket}/google-client/{schema}"
    future = google_client.export_data(
        name=server.dataset_name(dataset),
        export_config={"gcs_destination": {"output_uri_prefix": prefix}})
    assert not future.done()
    result = future.result(timeout=30)
    assert isinstance(result, aiplatform_v1.ExportDataResponse)
    assert isinstance(future.metadata, aiplatform_v1.ExportDataOperationMetadata)
    directory = future.metadata.gcs_output_directory
    assert directory.startswith(f"{prefix}/export-data-{dataset.display_name}-")
    assert len(result.exported_files) == len(dataset.annotation_sets)

    rendered = vertex_samples.render_export(dataset)
    client = storage_emulator.client()
    for uri, annotation_set in zip(result.exported_files, dataset.annotation_sets, strict=True):
        bucket, name = uri.removeprefix("gs://").split("/", 1)
        assert client.bucket(bucket).blob(name).download_as_text() == rendered.text(
            annotation_set)
    listed = {f"gs://{export_bucket}/{blob.name}"
              for blob in client.list_blobs(export_bucket, prefix=directory.split("/", 3)[3])}
    assert listed == {*result.exported_files,
                      result.exported_files[0].rsplit("/", 1)[0] + "/schema.yaml"}
    polls = server.calls("getOperation")
    assert polls and all(call["path"].startswith("/ui/") for call in polls)
    assert json.loads(json_format.MessageToJson(aiplatform_v1.ExportDataResponse.pb(result))) == {
        "exportedFiles": list(result.exported_files)}


def test_googles_client_reports_a_failed_export_and_missing_resources(server, google_client,
                                                                      export_bucket):
    server.fail_next_export(code=9, message="annotations changed")
    future = google_client.export_data(
        name=server.dataset_name(BOXES),
        export_config={"gcs_destination": {"output_uri_prefix": f"gs://{export_bucket}/f"}})
    with pytest.raises(api_exceptions.FailedPrecondition, match="annotations changed"):
        future.result(timeout=30)
    with pytest.raises(api_exceptions.NotFound, match="does not exist"):
        google_client.get_dataset(
            name=f"projects/{PROJECT}/locations/{LOCATION}/datasets/17")
    server.inject_fault(503, method="getDataset")
    with pytest.raises(api_exceptions.ServiceUnavailable):
        google_client.get_dataset(name=server.dataset_name(BOXES), retry=None)
