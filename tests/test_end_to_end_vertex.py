"""Vertex AI datasets through the whole pipeline on one machine: a completion message naming a
dataset, export_labeled_data calling the Vertex AI stand-in's datasets.export, the export set
it writes once the operation is done, and split_export splitting every exported file as one
export into one result."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from labelexport.events import format_time
from labelexport.run_records import run_id_for
from labelexport.vertex_ai import VertexAIClient

from devstack import processes, vertex_samples
from devstack.pipeline import LocalPipeline
from devstack.ports import is_listening

pytestmark = [pytest.mark.stack, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    with LocalPipeline(log_dir=tmp_path_factory.mktemp("pipeline-logs")) as running:
        yield running
    leftovers = [p for p in running.processes if not p.is_gone() or p in processes.running()]
    assert not leftovers, f"pipeline processes still alive after stop(): {leftovers}"
    assert not [port for port in running.ports if is_listening(port)]


def _lines(dataset) -> int:
    return sum(len(lines) for lines in vertex_samples.render_export(dataset).files.values())


def _check_split(pipeline: LocalPipeline, dataset, sent, manifest: dict, attributes: dict):
    name = pipeline.vertex.dataset_name(dataset)
    assert attributes["runId"] == sent.run_id and attributes["dataset"] == name
    source = manifest["source"]
    assert source["uri"].endswith(f"/{sent.run_id}/export-set.json")
    assert source["annotationType"] == dataset.schema
    assert source["annotationTypeSource"] == "export_schema"
    assert len(source["files"]) == len(dataset.annotation_sets)
    assert sum(f["rows"] for f in source["files"]) == manifest["rows"]["read"] == _lines(dataset)
    files = pipeline.split_outputs(name, sent.run_id)
    assert json.loads(files["manifest.json"]) == manifest
    seen: dict[str, str] = {}
    key = {"image": "imageGcsUri", "video": "videoGcsUri"}.get(vertex_samples.media_of(
        dataset.schema))
    for split in manifest["splits"]:
        for row in files[f"{split}.jsonl"].splitlines():
            line = json.loads(row)
            item = line.get(key) if key else line.get("textGcsUri") or line.get("textContent")
            assert seen.setdefault(item, split) == split, f"{item} in two splits"
    record = pipeline.wait_for_run(sent.run_id)
    assert record["state"] == "done" and record["backend"] == "vertex"
    return files


@pytest.mark.parametrize("schema", vertex_samples.SCHEMAS)
def test_every_vertex_format_exports_and_splits_as_one(pipeline, schema):
    dataset = vertex_samples.sample_for(schema)
    sent = pipeline.publish_vertex_completion(pipeline.vertex.dataset_name(dataset))
    manifest, attributes = pipeline.wait_for_result(sent.run_id)
    assert manifest["status"] == "ok" and manifest["rows"]["rejected"] == 0, manifest
    _check_split(pipeline, dataset, sent, manifest, attributes)


def test_an_item_in_two_files_goes_to_one_split_and_rejects_name_their_file(pipeline):
    dataset = vertex_samples.sample_for("image_bounding_box", dirty=True)
    assert len(dataset.annotation_sets) == 2
    sent = pipeline.publish_vertex_completion(pipeline.vertex.dataset_name(dataset))
    manifest, attributes = pipeline.wait_for_result(sent.run_id)
    assert manifest["status"] == "rejected"
    files = _check_split(pipeline, dataset, sent, manifest, attributes)
    rejected = [json.loads(r) for r in files["rejected.jsonl"].splitlines()]
    bad = vertex_samples.render_export(dataset).bad_lines
    assert sorted(r["reason"] for r in rejected) == sorted(bad.values())
    listed = [f["uri"] for f in manifest["source"]["files"]]
    assert {r["file"] for r in rejected} == set(listed)


def test_a_duplicate_message_exports_once(pipeline):
    dataset = vertex_samples.sample_for("text_classification_single_label")
    name = pipeline.vertex.dataset_name(dataset)
    first = pipeline.publish_vertex_completion(name, request_id="vertex-dup")
    second = pipeline.publish_vertex_completion(name, request_id="vertex-dup")
    assert first.run_id == second.run_id
    manifest, _ = pipeline.wait_for_result(first.run_id)
    assert manifest["status"] == "ok"
    pipeline.wait_until_settled()
    exports = [c for c in pipeline.vertex.calls("exportData") if c["status"] == 200
               and f"/{first.run_id}/" in json.dumps(c["body"])]
    assert len(exports) == 1
    time.sleep(1)
    with pytest.raises(TimeoutError):  # one result per run
        pipeline.wait_for_result(first.run_id, timeout=2)


def test_a_503_burst_is_retried_to_one_result(pipeline):
    dataset = vertex_samples.sample_for("video_classification")
    pipeline.vertex.inject_fault(503, count=2, method="exportData")
    sent = pipeline.publish_vertex_completion(pipeline.vertex.dataset_name(dataset),
                                              request_id="vertex-503")
    manifest, attributes = pipeline.wait_for_result(sent.run_id, timeout=90)
    assert manifest["status"] == "ok"
    _check_split(pipeline, dataset, sent, manifest, attributes)


def test_an_operation_error_is_a_failed_result(pipeline):
    dataset = vertex_samples.sample_for("text_sentiment")
    pipeline.vertex.fail_next_export(code=13, message="internal export failure")
    sent = pipeline.publish_vertex_completion(pipeline.vertex.dataset_name(dataset),
                                              request_id="vertex-error")
    report, attributes = pipeline.wait_for_result(sent.run_id)
    assert attributes["status"] == "failed" and report["error"]["reason"] == "export_failed"
    assert "internal export failure" in report["error"]["message"]
    assert pipeline.wait_for_run(sent.run_id)["state"] == "failed"


def test_a_dataset_that_does_not_exist_is_a_failed_result(pipeline):
    missing = f"projects/{pipeline.project}/locations/us-central1/datasets/999"
    sent = pipeline.publish_vertex_completion(missing)
    report, attributes = pipeline.wait_for_result(sent.run_id)
    assert attributes["status"] == "failed"
    assert report["error"]["reason"] == "dataset_unavailable" and "404" in \
        report["error"]["message"]
    assert report["dataset"] == missing


def test_partial_failures_reach_the_manifest(pipeline):
    dataset = vertex_samples.sample_for("image_classification_single_label")
    pipeline.vertex.set_partial_failures([{"code": 5, "message": "gs://x/gone.jpg not found"}])
    sent = pipeline.publish_vertex_completion(pipeline.vertex.dataset_name(dataset),
                                              request_id="vertex-partial")
    manifest, _ = pipeline.wait_for_result(sent.run_id)
    assert manifest["source"]["partialFailures"] == [
        {"code": 5, "message": "gs://x/gone.jpg not found"}]
    assert pipeline.wait_for_run(sent.run_id)["result"]["partialFailures"]


def test_labelexport_retry_of_a_vertex_dataset_is_a_new_run(pipeline):
    name = pipeline.vertex.dataset_name(vertex_samples.sample_for("video_object_tracking"))
    command = pipeline.commands(name, "jsonl")["retry"]  # as printed, with PUBSUB_EMULATOR_HOST
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout.split(": ", 1)[1])
    assert set(body) == {"dataset", "annotationsFilter", "requestId"}
    manifest, attributes = pipeline.wait_for_result(run_id_for(name, body["requestId"]))
    assert attributes["status"] == "ok" and attributes["dataset"] == name


def test_publish_to_result_of_a_10k_line_vertex_export(pipeline, capsys):
    dataset = vertex_samples.sample_for("image_bounding_box", large=True)
    name = pipeline.vertex.dataset_name(dataset)
    pipeline.wait_until_settled()
    started = time.monotonic()
    sent = pipeline.publish_vertex_completion(name, request_id="vertex-10k")
    manifest, _ = pipeline.wait_for_result(sent.run_id, timeout=120)
    took = time.monotonic() - started
    assert manifest["status"] == "ok"
    with capsys.disabled():
        print(f"\n  {manifest['rows']['read']:,}-line Vertex AI export in "
              f"{len(manifest['source']['files'])} files: {took:.2f} s from publish to result",
              flush=True)


def test_a_delivery_that_died_while_following_is_resumed_to_one_result(pipeline):
    """A delivery that died after recording the export's operation (the record `exporting`),
    then the message delivered again, twice: the operation is followed to its end, one export
    set, one result, one export call."""
    dataset = vertex_samples.sample_for("text_extraction")
    name = pipeline.vertex.dataset_name(dataset)
    request_id = "vertex-crashed-while-following"
    run_id = run_id_for(name, request_id)
    prefix = f"gs://{pipeline.export_bucket}/exports/vertex/us-central1/{dataset.dataset_id}/" \
             f"{run_id}/"
    pipeline.wait_until_settled()
    operation = VertexAIClient(pipeline.vertex.endpoint).export_data(name, prefix + "files/")
    now = format_time(datetime.now(UTC))
    record = {"runId": run_id, "state": "exporting", "backend": "vertex", "dataset": name,
              "displayName": dataset.display_name, "media": "text", "format": "jsonl",
              "annotationsFilter": "", "exportPrefix": prefix,
              "outputUriPrefix": prefix + "files/", "multiFile": True,
              "requestId": request_id, "messageId": "m-died", "operation": operation["name"],
              "createTime": now, "updateTime": now}
    pipeline.storage.client(pipeline.project).bucket(pipeline.split_bucket).blob(
        f"runs/{run_id}.json").upload_from_string(json.dumps(record))
    for _ in range(2):
        pipeline.publish_vertex_completion(name, request_id=request_id)
    manifest, attributes = pipeline.wait_for_result(run_id)
    assert manifest["status"] == "ok" and attributes["dataset"] == name
    pipeline.wait_until_settled()
    assert pipeline.wait_for_run(run_id)["state"] == "done"
    calls = [c for c in pipeline.vertex.calls("exportData") if run_id in json.dumps(c["body"])]
    assert len(calls) == 1  # the one made before the "crash"
    sets = [n for n in pipeline.export_objects() if n.endswith(f"/{run_id}/export-set.json")]
    assert len(sets) == 1
    with pytest.raises(TimeoutError):
        pipeline.wait_for_result(run_id, timeout=3)
