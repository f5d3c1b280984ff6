"""Every JSON answer of the local Data Labeling server parses into Google's own v1beta1 messages
(json_format.Parse, unknown fields refused), and api_core's REST operations client, the one
Google's REST clients use, follows a real export of the server to its result."""

from __future__ import annotations

import json
import time

import pytest
from google.api_core import exceptions as api_exceptions
from google.api_core import operation as api_operation
from google.api_core.operations_v1 import AbstractOperationsClient
from google.api_core.operations_v1.transports.rest import OperationsRestTransport
from google.auth.credentials import AnonymousCredentials
from google.cloud import datalabeling_v1beta1 as dl
from google.longrunning import operations_pb2
from google.protobuf import json_format
from google_json import assert_error_envelope, parse, parse_error_answer
from labelexport.datalabeling import DataLabelingClient, output_config_for
from test_datalabeling_server import INVALID, MemoryWriter

from devstack import sample_exports
from devstack.datalabeling_server import DataLabelingServer, create_app

PROJECT = "demo-project"
BOXES = sample_exports.annotated_dataset_names(PROJECT)["IMAGE_BOUNDING_BOX_ANNOTATION"]


# --------------------------------------------------------------------------- in process


@pytest.fixture
def writer():
    return MemoryWriter()


@pytest.fixture
def api(writer):
    return create_app(PROJECT, writer, operation_delay=0.0).test_client()


def _done(api, name: str) -> dict:
    deadline = time.monotonic() + 10
    while True:
        answer = api.get(f"/v1beta1/{name}")
        operation = answer.get_json()
        if operation.get("done") or time.monotonic() > deadline:
            return answer
        time.sleep(0.02)


def _operation(answer) -> operations_pb2.Operation:
    assert answer.status_code == 200
    return parse(answer.data, operations_pb2.Operation)


@pytest.mark.parametrize("sample", sample_exports.CATALOG, ids=lambda s: s.annotated_dataset_id)
def test_annotated_dataset_parses(api, sample):
    answer = api.get(f"/v1beta1/{sample.name(PROJECT)}")
    dataset = dl.AnnotatedDataset.wrap(parse(answer.data, dl.AnnotatedDataset.pb()))
    assert dataset.name == sample.name(PROJECT)
    assert dataset.annotation_type.name == sample.annotation_type
    assert dataset.example_count == sample.example_count


@pytest.mark.parametrize(("sample", "export_format"),
                         [(s, f) for s in sample_exports.CATALOG for f in s.formats],
                         ids=lambda v: getattr(v, "annotated_dataset_id", v))
def test_export_operations_parse_with_their_metadata_and_response(api, sample, export_format):
    config = output_config_for(sample.annotation_type, export_format, "exports", "run")
    url = f"/v1beta1/{sample.dataset_name(PROJECT)}:exportData"
    started = _operation(api.post(url, json={"annotatedDataset": sample.name(PROJECT),
                                             "outputConfig": config}))
    metadata = dl.ExportDataOperationMetadata.pb()()
    assert started.metadata.Unpack(metadata)
    assert metadata.dataset == sample.dataset_name(PROJECT)

    done = _operation(_done(api, started.name))
    assert done.done and done.WhichOneof("result") == "response"
    response = dl.ExportDataOperationResponse.pb()()
    assert done.response.Unpack(response)
    assert response.dataset == sample.dataset_name(PROJECT)
    assert response.export_count == response.total_count == sample.example_count
    assert json_format.MessageToDict(response.output_config) == config


def test_a_failed_export_ends_in_a_google_rpc_status(api):
    api.post("/_devstack/fail-next-export", json={"code": 9, "message": "labeling not done"})
    started = api.post(f"/v1beta1/projects/{PROJECT}/datasets/flowers:exportData", json={
        "annotatedDataset": BOXES, "outputConfig": output_config_for(
            "IMAGE_BOUNDING_BOX_ANNOTATION", "csv", "exports", "run")}).get_json()
    done = _operation(_done(api, started["name"]))
    assert done.WhichOneof("result") == "error"
    assert (done.error.code, done.error.message) == (9, "labeling not done")


ERROR_ANSWERS = {
    "not found": ("GET", f"/v1beta1/{BOXES}-nope", None, 404),
    "other project": ("GET", f"/v1beta1/{BOXES.replace(PROJECT, 'other')}", None, 403),
    "no such operation": ("GET", f"/v1beta1/projects/{PROJECT}/operations/nope", None, 404),
    "no such route": ("GET", "/v1beta1/elsewhere", None, 404),
    "wrong method": ("DELETE", f"/v1beta1/{BOXES}", None, 405),
    "not JSON": ("POST", f"/v1beta1/projects/{PROJECT}/datasets/flowers:exportData", "x", 400),
    **{f"invalid request: {case}": (
        "POST", f"/v1beta1/projects/{PROJECT}/datasets/flowers:exportData", body, code)
       for case, (body, code, _) in INVALID.items()},
}


@pytest.mark.parametrize("case", ERROR_ANSWERS)
def test_error_answers_parse_as_googles_error_envelope(api, case):
    assert_error_envelope(api, *ERROR_ANSWERS[case])


@pytest.mark.parametrize("code", [429, 500, 503, 504])
def test_injected_faults_parse_as_googles_error_envelope(api, code):
    api.post("/_devstack/faults", json={"code": code})
    answer = api.get(f"/v1beta1/{BOXES}")
    assert answer.status_code == code
    parse_error_answer(answer)


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
def server(_storage_emulator_session):
    with DataLabelingServer(_storage_emulator_session.endpoint, PROJECT,
                            operation_delay=0.3) as running:
        yield running


@pytest.fixture(scope="module")
def export_bucket(_storage_emulator_session):
    name = f"dl-protos-{time.time_ns() % 10**9}"
    _storage_emulator_session.create_bucket(name)
    return name


@pytest.fixture
def operations_client(server):
    """api_core's REST operations client, as Google's REST clients build it, on the server."""
    server.reset()
    transport = OperationsRestTransport(host=server.endpoint, credentials=AnonymousCredentials(),
                                        url_scheme="http", path_prefix="v1beta1")
    return AbstractOperationsClient(transport=transport)


def _start_export(server, export_bucket: str) -> operations_pb2.Operation:
    config = output_config_for("IMAGE_BOUNDING_BOX_ANNOTATION", "csv", export_bucket,
                               f"protos/{time.time_ns()}")
    started = DataLabelingClient(server.endpoint).export_data(BOXES, config)
    return parse(json.dumps(started), operations_pb2.Operation)


def test_api_core_follows_an_export_to_its_result(server, operations_client, export_bucket,
                                                  storage_emulator):
    started = _start_export(server, export_bucket)
    future = api_operation.from_gapic(started, operations_client, dl.ExportDataOperationResponse,
                                      metadata_type=dl.ExportDataOperationMetadata)
    result = future.result(timeout=30)
    assert isinstance(result, dl.ExportDataOperationResponse)
    assert result.export_count == result.total_count == 300
    assert result.dataset == f"projects/{PROJECT}/datasets/flowers"
    assert future.metadata.dataset == result.dataset
    uri = result.output_config.gcs_destination.output_uri
    bucket, name = uri.removeprefix("gs://").split("/", 1)
    written = storage_emulator.client().bucket(bucket).blob(name).download_as_bytes()
    assert written.count(b"\n") >= 300
    assert len(server.calls("getOperation")) >= 1  # api_core polled the server


def test_api_core_reports_a_failed_export_and_an_unknown_operation(server, operations_client,
                                                                   export_bucket):
    server.fail_next_export(code=9, message="labeling not done")
    future = api_operation.from_gapic(_start_export(server, export_bucket), operations_client,
                                      dl.ExportDataOperationResponse,
                                      metadata_type=dl.ExportDataOperationMetadata)
    with pytest.raises(api_exceptions.FailedPrecondition, match="labeling not done"):
        future.result(timeout=30)
    with pytest.raises(api_exceptions.NotFound, match="not found"):
        operations_client.get_operation(f"projects/{PROJECT}/operations/nope")
