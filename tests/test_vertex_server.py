"""The local Vertex AI server's REST surface, export layout, validation and test controls, in
process (Flask's test client; exports go to a dict instead of Cloud Storage)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest
from google.api_core import exceptions as api_exceptions
from test_datalabeling_server import MemoryWriter

from devstack import vertex_samples
from devstack.vertex_server import create_app, schema_title

PROJECT, NUMBER, LOCATION = "demo-project", "123456789012", "us-central1"
BOXES = vertex_samples.sample_for("image_bounding_box")  # two annotation sets
SENTIMENT = vertex_samples.sample_for("text_sentiment", dirty=True)  # one set
PREFIX = "gs://exports/vertex/run-1"
FOLDER = re.compile(r"gs://exports/vertex/run-1/export-data-(?P<name>[\w\-]+)-"
                    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)/")


@pytest.fixture
def writer():
    return MemoryWriter()


@pytest.fixture
def api(writer):
    return create_app(writer, PROJECT, NUMBER, (LOCATION, "europe-west4"),
                      operation_delay=0.0).test_client()


def name_of(dataset, project=PROJECT, location=LOCATION) -> str:
    return dataset.name(project, location)


def export_body(prefix=PREFIX, annotations_filter=""):
    return {"exportConfig": {"gcsDestination": {"outputUriPrefix": prefix},
                             "annotationsFilter": annotations_filter}}


def wait_done(api, name: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        operation = api.get(f"/v1/{name}").get_json()
        if operation.get("done") or time.monotonic() > deadline:
            return operation
        time.sleep(0.02)


def export(api, dataset=BOXES, body=None) -> dict:
    answer = api.post(f"/v1/{name_of(dataset)}:export", json=body or export_body())
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


# --------------------------------------------------------------------------- datasets


@pytest.mark.parametrize("dataset", vertex_samples.CATALOG, ids=lambda d: d.display_name)
def test_get_dataset(api, dataset):
    answer = api.get(f"/v1/{name_of(dataset)}")
    assert answer.status_code == 200
    found = answer.get_json()
    assert found["name"] == dataset.name(NUMBER, LOCATION)  # the number, as Vertex AI answers
    assert found["displayName"] == dataset.display_name
    media = dataset.schema.split("_")[0]
    assert found["metadataSchemaUri"] == (
        f"gs://google-cloud-aiplatform/schema/dataset/metadata/{media}_1.0.0.yaml")
    assert found["dataItemCount"] == str(dataset.items)
    assert found["etag"] and found["createTime"] < found["updateTime"]
    assert api.get(f"/v1/{name_of(dataset, NUMBER)}").get_json() == found


def test_datasets_are_found_in_their_locations_and_projects_only(api):
    assert api.get(f"/v1/{name_of(BOXES, location='europe-west4')}").status_code == 200
    missing = api.get(f"/v1/{name_of(BOXES, location='asia-east1')}")
    assert missing.status_code == 404
    assert missing.get_json()["error"] == {"code": 404, "message": "The Dataset does not exist.",
                                           "status": "NOT_FOUND"}
    assert api.get(f"/v1/projects/{PROJECT}/locations/{LOCATION}/datasets/1").status_code == 404
    other = api.get(f"/v1/{name_of(BOXES, project='other-project')}").get_json()["error"]
    assert other["status"] == "PERMISSION_DENIED" and "aiplatform.datasets.get" in other["message"]
    named = api.get(f"/v1/projects/{PROJECT}/locations/{LOCATION}/datasets/flowers")
    assert named.status_code == 400 and named.get_json()["error"]["status"] == "INVALID_ARGUMENT"
    assert api.get("/v1/elsewhere").get_json()["error"]["status"] == "NOT_FOUND"
    assert api.delete(f"/v1/{name_of(BOXES)}").status_code == 405


# --------------------------------------------------------------------------- exports


def test_export_runs_as_an_operation_and_writes_one_file_per_annotation_set(api, writer):
    operation = export(api)
    assert re.fullmatch(rf"{BOXES.name(NUMBER, LOCATION)}/operations/[1-9]\d{{18}}",
                        operation["name"])
    assert "done" not in operation and "response" not in operation
    metadata = operation["metadata"]
    assert metadata["@type"] == ("type.googleapis.com/google.cloud.aiplatform.v1."
                                 "ExportDataOperationMetadata")
    folder = FOLDER.fullmatch(metadata["gcsOutputDirectory"])
    assert folder and folder["name"] == BOXES.display_name
    generic = metadata["genericMetadata"]
    assert generic["createTime"] == generic["updateTime"] and "partialFailures" not in generic

    done = wait_done(api, operation["name"])
    assert done["done"] is True and "error" not in done
    assert done["metadata"]["genericMetadata"]["updateTime"] >= generic["createTime"]
    assert done["response"]["@type"].endswith(".v1.ExportDataResponse")
    directory = metadata["gcsOutputDirectory"]
    assert done["response"]["exportedFiles"] == [
        f"{directory}ImageBoundingBox/data-00001-of-00002.jsonl",
        f"{directory}ImageBoundingBox/data-00002-of-00002.jsonl"]
    rendered = vertex_samples.render_export(BOXES)
    for uri, annotation_set in zip(done["response"]["exportedFiles"], BOXES.annotation_sets,
                                   strict=True):
        data, content_type = writer.objects[uri]
        assert data.decode() == rendered.text(annotation_set)
        assert content_type == "application/jsonl"
    schema, _ = writer.objects[f"{directory}ImageBoundingBox/schema.yaml"]
    assert schema.startswith(b"title: ImageBoundingBox\n") and b"imageGcsUri" in schema
    assert len(writer.objects) == 3

    first, second = (writer.objects[uri][0].decode().splitlines()
                     for uri in done["response"]["exportedFiles"])
    images = [{json.loads(line)["imageGcsUri"] for line in lines} for lines in (first, second)]
    assert images[1] and images[1] <= images[0]  # the same items, labeled in both sets


@pytest.mark.parametrize(("schema", "title"), [
    ("image_classification_single_label", "ImageClassificationSingleLabel"),
    ("image_bounding_box", "ImageBoundingBox"), ("text_extraction", "TextExtraction"),
    ("video_object_tracking", "VideoObjectTracking")])
def test_sub_folders_are_named_by_the_schema_title(schema, title):
    assert schema_title(schema) == title


@pytest.mark.parametrize("dataset", vertex_samples.CATALOG, ids=lambda d: d.display_name)
def test_every_dataset_exports_its_annotation_sets(api, writer, dataset):
    done = wait_done(api, export(api, dataset)["name"])
    files = done["response"]["exportedFiles"]
    assert len(files) == len(dataset.annotation_sets)
    assert {uri.rsplit("/", 2)[1] for uri in files} == {schema_title(dataset.schema)}
    rendered = vertex_samples.render_export(dataset)
    assert [writer.objects[uri][0].decode() for uri in files] == [
        rendered.text(s) for s in dataset.annotation_sets]


def test_the_annotations_filter_selects_an_annotation_set(api, writer):
    body = export_body(annotations_filter=
                       'labels.aiplatform.googleapis.com/annotation_set_name="labels-b"')
    files = wait_done(api, export(api, body=body)["name"])["response"]["exportedFiles"]
    assert [uri.rsplit("/", 1)[1] for uri in files] == ["data-00001-of-00001.jsonl"]
    assert writer.objects[files[0]][0].decode() == vertex_samples.render_export(BOXES).text(
        "labels-b")
    body = export_body(annotations_filter=
                       "labels.aiplatform.googleapis.com/annotation_set_name=nope")
    assert wait_done(api, export(api, body=body)["name"])["response"] == {
        "@type": "type.googleapis.com/google.cloud.aiplatform.v1.ExportDataResponse",
        "exportedFiles": []}


def test_snake_case_and_a_prefix_ending_in_a_slash(api, writer):
    body = {"export_config": {"gcs_destination": {"output_uri_prefix": "gs://exports/v/"}}}
    operation = export(api, SENTIMENT, body)
    assert operation["metadata"]["gcsOutputDirectory"].startswith(
        "gs://exports/v/export-data-text-sentiment-dirty-")
    files = wait_done(api, operation["name"])["response"]["exportedFiles"]
    assert files[0].endswith("/TextSentiment/data-00001-of-00001.jsonl")
    assert files[0] in writer.objects


def _config(**fields):
    return {"exportConfig": {"gcsDestination": {"outputUriPrefix": PREFIX}, **fields}}


INVALID = {
    "no export config": ({}, 400, "export_config is required"),
    "no destination": ({"exportConfig": {"annotationsFilter": ""}}, 400, "gcs_destination"),
    "not a gs:// prefix": (export_body("https://b/x"), 400, "gs://"),
    "bad bucket": (export_body("gs://B/x"), 400, "gs://"),
    "unknown field": ({**export_body(), "format": "jsonl"}, 400, 'Unknown name "format"'),
    "unknown config field": (_config(outputFormat="csv"), 400, 'Unknown name "outputFormat"'),
    "both spellings": ({**export_body(), "export_config": {}}, 400, "twice"),
    "filter not a string": (_config(annotationsFilter=3), 400, "annotations_filter"),
    "name of another dataset": ({**export_body(), "name": name_of(SENTIMENT)}, 400, "match"),
    "unsupported filter": (_config(annotationsFilter='labels.x="y"'), 501, "filters annotations"),
    "fraction split": (_config(fractionSplit={"trainingFraction": 0.8}), 501, "custom-training"),
    "custom training use": (_config(exportUse="CUSTOM_CODE_TRAINING"), 501, "exportUse"),
    "saved query": (_config(savedQueryId="7"), 501, "savedQueryId"),
}


@pytest.mark.parametrize("case", INVALID)
def test_invalid_export_requests(api, writer, case):
    body, code, message = INVALID[case]
    answer = api.post(f"/v1/{name_of(BOXES)}:export", json=body)
    assert answer.status_code == code
    error = answer.get_json()["error"]
    assert error["code"] == code and message in error["message"]
    assert error["status"] == {400: "INVALID_ARGUMENT", 501: "UNIMPLEMENTED"}[code]


def test_bodies_that_are_not_json_objects(api):
    assert api.post(f"/v1/{name_of(BOXES)}:export", data="x").status_code == 400
    assert api.post(f"/v1/{name_of(BOXES)}:export", json=[1]).status_code == 400


def test_an_unknown_dataset_cannot_be_exported(api):
    url = f"/v1/projects/{PROJECT}/locations/{LOCATION}/datasets/17:export"
    assert api.post(url, json=export_body()).status_code == 404


# --------------------------------------------------------------------------- operations


def test_operations_are_served_under_v1_and_ui_by_project_id_or_number(api):
    name = export(api)["name"]
    done = wait_done(api, name)
    by_id = name.replace(f"projects/{NUMBER}/", f"projects/{PROJECT}/")
    assert api.get(f"/ui/{name}").get_json() == done == api.get(f"/v1/{by_id}").get_json()
    unknown = api.get(f"/v1/{name[:-3]}000")
    assert unknown.status_code == 404 and "is not found" in unknown.get_json()["error"]["message"]
    calls = api.get("/_devstack/calls?method=getOperation").get_json()["calls"]
    assert {c["path"].split("/")[1] for c in calls} == {"v1", "ui"}


def test_faults_answer_the_next_calls_of_a_method(api):
    api.post("/_devstack/faults", json={"code": 503, "count": 2, "method": "getDataset"})
    answers = [api.get(f"/v1/{name_of(BOXES)}?$alt=json") for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].get_json()["error"]["status"] == "UNAVAILABLE"
    api.post("/_devstack/faults", json={"code": 429})
    throttled = api.post(f"/v1/{name_of(BOXES)}:export", json=export_body())
    assert throttled.status_code == 429
    assert "aiplatform.googleapis.com" in throttled.get_json()["error"]["message"]

    calls = api.get("/_devstack/calls").get_json()["calls"]
    assert [(c["method"], c["status"]) for c in calls] == [
        ("getDataset", 503), ("getDataset", 503), ("getDataset", 200), ("exportData", 429)]
    assert calls[0]["query"] == "$alt=json" and calls[3]["body"] == export_body()
    assert api.post("/_devstack/faults", json={"method": "listDatasets"}).status_code == 400
    api.post("/_devstack/reset")
    assert api.get("/_devstack/calls").get_json()["calls"] == []


def test_next_export_can_be_made_to_fail_after_some_files(api, writer):
    api.post("/_devstack/fail-next-export", json={"code": 9, "message": "annotations changed",
                                                  "writtenFiles": 1})
    failed = wait_done(api, export(api)["name"])
    assert failed["done"] is True and "response" not in failed
    assert failed["error"] == {"code": 9, "message": "annotations changed"}
    assert sorted(uri.rsplit("/", 1)[1] for uri in writer.objects) == [
        "data-00001-of-00002.jsonl", "schema.yaml"]
    assert "response" in wait_done(api, export(api)["name"])


def test_partial_failures_are_reported_in_the_metadata(api):
    failures = [{"code": 3, "message": "2 data items could not be exported."}]
    api.post("/_devstack/partial-failures", json={"failures": failures})
    done = wait_done(api, export(api)["name"])
    assert done["metadata"]["genericMetadata"]["partialFailures"] == failures
    assert len(done["response"]["exportedFiles"]) == 2
    again = wait_done(api, export(api)["name"])
    assert "partialFailures" not in again["metadata"]["genericMetadata"]


def test_storage_failure_ends_the_operation_in_error(api, writer):
    writer.error = api_exceptions.NotFound("no such bucket")
    failed = wait_done(api, export(api)["name"])
    assert failed["error"]["code"] == 5 and "does not exist" in failed["error"]["message"]


def test_operation_delay(api):
    api.post("/_devstack/operation-delay", json={"seconds": 0.5})
    name = export(api)["name"]
    time.sleep(0.1)
    assert "done" not in api.get(f"/v1/{name}").get_json()
    assert wait_done(api, name)["done"] is True


# --------------------------------------------------------------------------- controls


def test_catalog_and_exports_name_the_bad_lines(api):
    entries = {e["displayName"]: e for e in api.get("/_devstack/catalog").get_json()["datasets"]}
    assert len(entries) == len(vertex_samples.CATALOG)
    dirty = entries[SENTIMENT.display_name]
    assert dirty["name"] == SENTIMENT.name(NUMBER, LOCATION) and dirty["dirty"]
    rendered = vertex_samples.render_export(SENTIMENT)
    assert dirty["annotationSets"] == [{"name": "labels", "lines": len(rendered.files["labels"]),
                                        "badLines": {"2": "conflicting_fields",
                                                     "5": "unknown_ml_use"}}]
    operation = export(api, SENTIMENT)["name"]
    files = wait_done(api, operation)["response"]["exportedFiles"]
    [written] = api.get("/_devstack/exports").get_json()["exports"]
    assert written["operation"] == operation
    assert written["files"] == [{"uri": files[0], "annotationSet": "labels",
                                 **{k: v for k, v in dirty["annotationSets"][0].items()
                                    if k != "name"}}]


def test_command_line_needs_a_storage_emulator():
    finished = subprocess.run([sys.executable, "-m", "devstack.vertex_server", "--port", "0"],
                              capture_output=True, text=True, timeout=30,
                              env={"PATH": "/usr/bin:/bin"})
    assert finished.returncode == 2 and "STORAGE_EMULATOR_HOST" in finished.stderr
