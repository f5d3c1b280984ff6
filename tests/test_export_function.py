"""export_labeled_data served by functions-framework and fed by a real push subscription of
Google's Pub/Sub emulator (retry and dead-letter policies), against the local Data Labeling
server and the Storage emulator honouring preconditions."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cloudevents_http import post_event

from devstack.datalabeling_server import DataLabelingServer

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]

PROJECT = "demo-project"
MAIN = Path(__file__).resolve().parent.parent / "functions" / "main.py"
LABELEXPORT = Path(sys.executable).with_name("labelexport")
BOXES = f"projects/{PROJECT}/datasets/flowers/annotatedDatasets/flowers-boxes"
PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


@pytest.fixture(scope="module")
def datalabeling(_storage_emulator_session):
    with DataLabelingServer(_storage_emulator_session.endpoint, PROJECT,
                            operation_delay=0.3) as server:
        yield server


class ExportStack:
    def __init__(self, storage, pubsub, datalabeling, functions_server, unique_name,
                 **settings):
        self.storage, self.pubsub, self.datalabeling = storage, pubsub, datalabeling
        datalabeling.reset()
        self.export_bucket = unique_name("exports")
        storage.create_bucket(self.export_bucket)
        self.results_topic = pubsub.create_topic(PROJECT, unique_name("results"))
        self.results = pubsub.create_pull_subscription(PROJECT, unique_name("results-sub"),
                                                       self.results_topic)
        self.env = {"EXPORT_BUCKET": self.export_bucket, "SPLIT_BUCKET": unique_name("splits"),
                    "RESULTS_TOPIC": self.results_topic, "GOOGLE_CLOUD_PROJECT": PROJECT,
                    "DATALABELING_ENDPOINT": datalabeling.endpoint,
                    "OPERATION_WAIT_SECONDS": "20",
                    **storage.env(), **pubsub.env(), **settings}
        self.server = functions_server("export_labeled_data", MAIN, self.env)
        self.topic = pubsub.create_topic(PROJECT, unique_name("labeling-complete"))
        self.dead_letter_topic = pubsub.create_topic(PROJECT, unique_name("dead-letter"))
        # The dead-letter topic needs a subscription before anything is dead-lettered.
        self.dead_letters = pubsub.create_pull_subscription(PROJECT, unique_name("dl-hold"),
                                                            self.dead_letter_topic)
        pubsub.create_push_subscription(
            PROJECT, unique_name("to-export"), self.topic,
            push_endpoint=f"{self.server.url}/{self.topic}", ack_deadline=60,
            min_backoff=1, max_backoff=2, dead_letter_topic=self.dead_letter_topic,
            max_delivery_attempts=5)
        self.client = storage.client()

    def publish(self, body: dict | bytes, **attributes: str) -> str:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.pubsub.publish(self.topic, data, **attributes)

    def exports(self) -> list[str]:
        return sorted(b.name for b in self.client.list_blobs(self.export_bucket,
                                                              prefix="exports/"))

    def run_records(self) -> list[dict]:
        """Every run record as it is now (not at the generation the listing saw: a record is
        rewritten as its run advances)."""
        bucket = self.client.bucket(self.export_bucket)
        return [json.loads(bucket.blob(b.name).download_as_bytes())
                for b in self.client.list_blobs(self.export_bucket, prefix="runs/")]

    def wait_for(self, predicate, timeout: float = 30, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")

    def done_runs(self, count: int = 1) -> list[dict]:
        return self.wait_for(lambda: len(done := [r for r in self.run_records()
                                                  if r["state"] == "done"]) >= count and done,
                             what=f"{count} finished run(s)")

    def result(self, timeout: float = 30):
        (message,) = self.pubsub.pull(self.results, max_messages=1, timeout=timeout)
        return json.loads(message.data), message.attributes

    def export_calls(self) -> list[dict]:
        return [c for c in self.datalabeling.calls("exportData") if c["status"] == 200]


@pytest.fixture
def stack(storage_emulator, pubsub_emulator, datalabeling, functions_server, unique_name):
    return ExportStack(storage_emulator, pubsub_emulator, datalabeling, functions_server,
                       unique_name)


def test_completion_message_exports_once(stack):
    stack.publish({"annotatedDataset": BOXES, "format": "csv"})
    (run,) = stack.done_runs()
    assert len(stack.export_calls()) == 1
    name = f"exports/flowers/flowers-boxes/{run['runId']}/export.csv"
    assert stack.exports() == [name]
    assert run["annotationType"] == "IMAGE_BOUNDING_BOX_ANNOTATION"
    assert run["operation"].startswith(f"projects/{PROJECT}/operations/")
    assert int(run["result"]["exportCount"]) > 0
    body = stack.client.bucket(stack.export_bucket).blob(name).download_as_bytes()
    assert body.startswith((b"TRAIN,", b"VALIDATION,", b"TEST,", b"UNASSIGNED,"))
    assert stack.pubsub.pull(stack.results, timeout=1) == []  # success is split_export's to say


@pytest.mark.parametrize(("annotated", "expected_file"), [
    ("news-articles/annotatedDatasets/news-entities", "export.jsonl"),  # JSONL only
    ("flowers/annotatedDatasets/flowers-segmentation", "export.jsonl"),  # a folder export
])
def test_jsonl_only_types_are_exported_as_jsonl(stack, annotated, expected_file):
    stack.publish({"annotatedDataset": f"projects/{PROJECT}/datasets/{annotated}"})
    (run,) = stack.done_runs()
    assert run["format"] == "jsonl"
    assert stack.exports()[0].endswith(f"/{run['runId']}/{expected_file}")


def test_annotated_dataset_as_an_attribute_and_forwarded_operation(stack):
    stack.publish(b"", annotatedDataset=BOXES, format="jsonl")
    operation = {"name": f"projects/{PROJECT}/operations/label-123", "done": True,
                 "response": {"name": BOXES, "annotationType": "IMAGE_BOUNDING_BOX_ANNOTATION"}}
    stack.publish(operation)
    runs = stack.done_runs(2)
    assert sorted(r["format"] for r in runs) == ["csv", "jsonl"]
    assert len(stack.exports()) == 2


def test_redelivered_message_starts_no_second_export(stack):
    push = {"message": {"data": base64.b64encode(json.dumps(
        {"annotatedDataset": BOXES}).encode()).decode(), "messageId": "m-1",
        "attributes": {}}, "subscription": "projects/p/subscriptions/s"}
    for _ in range(2):
        answer = post_event(stack.server.url, PUBLISHED,
                            f"//pubsub.googleapis.com/{stack.topic}", push, event_id="m-1")
        assert answer.status_code == 200
    stack.done_runs()
    assert len(stack.export_calls()) == 1 and len(stack.exports()) == 1


def test_same_request_id_published_twice_is_one_export(stack):
    for _ in range(2):
        stack.publish({"annotatedDataset": BOXES, "requestId": "nightly-2026-11-24"})
    stack.done_runs()
    time.sleep(2)
    assert len(stack.export_calls()) == 1 and len(stack.run_records()) == 1


def test_503_then_success_is_absorbed_by_retries(stack):
    stack.datalabeling.inject_fault(503, count=1, method="exportData")
    stack.publish({"annotatedDataset": BOXES})
    stack.done_runs()
    statuses = [c["status"] for c in stack.datalabeling.calls("exportData")]
    assert statuses == [503, 200]
    assert len(stack.exports()) == 1
    assert any("transient failure" in e.get("message", "") for e in stack.server.json_logs())


def test_unknown_annotated_dataset_fails_once_without_retry(stack):
    missing = f"projects/{PROJECT}/datasets/flowers/annotatedDatasets/no-such-thing"
    stack.publish({"annotatedDataset": missing})
    report, attributes = stack.result()
    assert attributes["status"] == "failed" and attributes["annotatedDataset"] == missing
    assert report["error"]["reason"] == "annotated_dataset_unavailable"
    assert "404" in report["error"]["message"] and "NOT_FOUND" in report["error"]["message"]
    time.sleep(3)  # past the subscription's retry backoff
    assert len(stack.datalabeling.calls("getAnnotatedDataset")) == 1
    assert stack.exports() == [] and stack.run_records() == []


def test_operation_ending_in_error_is_a_failed_result(stack):
    stack.datalabeling.fail_next_export(code=13, message="Internal error while exporting")
    stack.publish({"annotatedDataset": BOXES})
    report, attributes = stack.result()
    assert attributes["status"] == "failed"
    assert report["error"]["reason"] == "export_failed"
    assert "Internal error while exporting" in report["error"]["message"]
    (run,) = stack.run_records()
    assert run["state"] == "failed" and run["failure"] == report


def test_message_that_keeps_failing_reaches_the_dead_letter_topic(stack):
    stack.datalabeling.inject_fault(503, count=1000, method="getAnnotatedDataset")
    message_id = stack.publish({"annotatedDataset": BOXES})
    (dead,) = stack.pubsub.pull(stack.dead_letters, timeout=60)
    assert json.loads(dead.data) == {"annotatedDataset": BOXES}
    assert dead.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"
    assert dead.attributes["CloudPubSubDeadLetterSourceTopicPublishTime"]
    assert message_id
    assert len(stack.datalabeling.calls("getAnnotatedDataset")) == 5


def test_slow_operation_is_resumed_by_the_redelivery(stack, storage_emulator, pubsub_emulator,
                                                     datalabeling, functions_server,
                                                     unique_name):
    slow = ExportStack(storage_emulator, pubsub_emulator, datalabeling, functions_server,
                       unique_name, OPERATION_WAIT_SECONDS="1")
    datalabeling.set_operation_delay(4)
    try:
        slow.publish({"annotatedDataset": BOXES})
        slow.done_runs(1)
    finally:
        datalabeling.set_operation_delay(0.3)
    assert len(slow.export_calls()) == 1  # followed, never started again
    assert any("still running" in e.get("message", "") for e in slow.server.json_logs())


@pytest.mark.parametrize(("data", "reason", "words"), [
    (b"annotatedDataset=projects/p", "not_json", "not JSON"),
    (json.dumps({"format": "csv"}).encode(), "missing_field", "annotatedDataset"),
    (json.dumps({"annotatedDataset": "projects/p/datasets/d"}).encode(), "bad_resource_name",
     "projects/P/datasets/D/annotatedDatasets/A"),
    (json.dumps({"annotatedDataset": BOXES, "outputUri": "gs://elsewhere/x.csv"}).encode(),
     "destination_not_allowed", "always lands in EXPORT_BUCKET"),
    (json.dumps({"annotatedDataset": BOXES, "format": "xml"}).encode(), "bad_format", "xml"),
    (json.dumps([BOXES]).encode(), "not_json_object", "JSON object"),
    (json.dumps({"name": f"projects/{PROJECT}/operations/o1", "done": False}).encode(),
     "labeling_not_done", "not done"),
])
def test_malformed_message_is_refused_with_a_reason(stack, data, reason, words):
    stack.publish(data)
    report, attributes = stack.result()
    assert attributes["status"] == "failed"
    assert report["error"]["reason"] == reason and words in report["error"]["message"]
    time.sleep(2)
    assert stack.datalabeling.calls("exportData") == [] and stack.run_records() == []


def test_labelexport_retry_starts_a_second_separate_export(stack):
    stack.publish({"annotatedDataset": BOXES})
    (first,) = stack.done_runs()
    command = [str(LABELEXPORT), "retry", BOXES, "--topic", stack.topic]
    done = subprocess.run(command, env={**os.environ, **stack.pubsub.env()},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"to {stack.topic}" in done.stdout and '"requestId": "retry-' in done.stdout
    runs = stack.done_runs(2)
    assert {r["runId"] for r in runs} > {first["runId"]}
    assert len(stack.exports()) == 2 and len(stack.export_calls()) == 2


def test_retry_command_refuses_bad_names():
    done = subprocess.run([str(LABELEXPORT), "retry", "projects/p/datasets/d", "--topic",
                           "projects/p/topics/t"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("labelexport: error:") and "Traceback" not in done.stderr
