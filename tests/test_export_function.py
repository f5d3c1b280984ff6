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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cloudevents_http import post_event
from labelexport import export_sets
from labelexport.datalabeling import DataLabelingClient, output_config_for
from labelexport.events import format_time, parse_time
from labelexport.export_paths import export_prefix
from labelexport.results import FAILURE_FIELDS
from labelexport.run_records import run_id_for

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
        self.split_bucket = unique_name("splits")
        storage.create_bucket(self.export_bucket)
        storage.create_bucket(self.split_bucket)
        self.results_topic = pubsub.create_topic(PROJECT, unique_name("results"))
        self.results = pubsub.create_pull_subscription(PROJECT, unique_name("results-sub"),
                                                       self.results_topic)
        self.env = {"EXPORT_BUCKET": self.export_bucket, "SPLIT_BUCKET": self.split_bucket,
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
        rewritten as its run advances). They live in SPLIT_BUCKET."""
        bucket = self.client.bucket(self.split_bucket)
        return [json.loads(bucket.blob(b.name).download_as_bytes())
                for b in self.client.list_blobs(self.split_bucket, prefix="runs/")]

    def write_record(self, run_id: str, record: dict | bytes) -> None:
        data = record if isinstance(record, bytes) else json.dumps(record).encode()
        self.client.bucket(self.split_bucket).blob(f"runs/{run_id}.json").upload_from_string(
            data)

    def wait_for(self, predicate, timeout: float = 30, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")

    def done_runs(self, count: int = 1, timeout: float = 30) -> list[dict]:
        return self.wait_for(lambda: len(done := [r for r in self.run_records()
                                                  if r["state"] == "done"]) >= count and done,
                             timeout=timeout, what=f"{count} finished run(s)")

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


def test_jsonl_only_types_are_exported_as_jsonl(stack):
    stack.publish({"annotatedDataset": f"projects/{PROJECT}/datasets/news-articles/"
                                       "annotatedDatasets/news-entities"})
    (run,) = stack.done_runs()
    assert run["format"] == "jsonl"
    assert stack.exports()[0].endswith(f"/{run['runId']}/export.jsonl")


def test_a_folder_export_ends_in_an_export_set_listing_its_files(stack):
    stack.publish({"annotatedDataset": f"projects/{PROJECT}/datasets/flowers/"
                                       "annotatedDatasets/flowers-segmentation"})
    (run,) = stack.done_runs()
    assert run["format"] == "jsonl" and run["multiFile"] is True
    names = stack.exports()
    prefix = run["exportPrefix"].partition("/exports/")[2]
    assert sorted(names) == [f"exports/{prefix}export-set.json",
                             f"exports/{prefix}files/export.jsonl"]
    data = stack.client.bucket(stack.export_bucket).blob(
        f"exports/{prefix}export-set.json").download_as_bytes()
    listed = export_sets.parse(data, "set")
    assert [f.uri for f in listed.files] == [
        f"gs://{stack.export_bucket}/exports/{prefix}files/export.jsonl"]
    assert listed.annotation_type == "IMAGE_SEGMENTATION_ANNOTATION"


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


# --------------------------------------------------------------------------- reliability


def _assert_failure_shape(report: dict) -> None:
    assert report["status"] == "failed" and report["stage"] == "export"
    assert {"status", "stage", "error"} <= set(report) <= set(FAILURE_FIELDS)


def _all_results(stack, wait: float = 2.0) -> list[tuple[dict, dict]]:
    return [(json.loads(m.data), m.attributes)
            for m in stack.pubsub.pull(stack.results, max_messages=100, timeout=wait,
                                       min_messages=100)]


def test_crash_after_the_export_call_is_adopted_not_exported_again(stack):
    """What a delivery that died right after exportData answered leaves behind (its record
    `requested`, its start still held), then the message delivered again, and again after it
    was handled: one export, the run done, nothing dead-lettered."""
    request_id = "crash-after-export-call"
    run_id = run_id_for(BOXES, request_id)
    prefix = export_prefix("flowers", "flowers-boxes", run_id)
    output_config = output_config_for("IMAGE_BOUNDING_BOX_ANNOTATION", "csv",
                                      stack.export_bucket, prefix)
    DataLabelingClient(stack.datalabeling.endpoint).export_data(BOXES, output_config)
    now = datetime.now(UTC)
    stack.write_record(run_id, {
        "runId": run_id, "state": "requested", "annotatedDataset": BOXES,
        "annotationType": "IMAGE_BOUNDING_BOX_ANNOTATION", "format": "csv", "filter": "",
        "requestId": request_id, "messageId": "m-crashed",
        "exportPrefix": f"gs://{stack.export_bucket}/{prefix}", "outputConfig": output_config,
        "createTime": format_time(now), "updateTime": format_time(now),
        "startLeaseUntil": format_time(now + timedelta(seconds=15))})

    stack.publish({"annotatedDataset": BOXES, "requestId": request_id})
    (run,) = stack.done_runs(timeout=40)
    assert run["runId"] == run_id and "operation" not in run
    stack.publish({"annotatedDataset": BOXES, "requestId": request_id})  # after a dead letter
    time.sleep(3)
    assert len(stack.export_calls()) == 1 and len(stack.exports()) == 1
    generations = list(stack.client.list_blobs(stack.export_bucket, prefix="exports/",
                                               versions=True))
    assert len(generations) == 1
    assert stack.pubsub.pull(stack.dead_letters, timeout=1) == []
    assert _all_results(stack, wait=1) == []


def test_concurrent_copies_of_one_delivery_publish_no_failure(stack):
    def push(message_id: str) -> dict:
        return {"message": {"data": base64.b64encode(json.dumps(
            {"annotatedDataset": BOXES}).encode()).decode(), "messageId": message_id,
            "attributes": {}}, "subscription": "projects/demo-project/subscriptions/s"}

    def deliver(message_id: str) -> int:
        return post_event(stack.server.url, PUBLISHED, f"//pubsub.googleapis.com/{stack.topic}",
                          push(message_id), event_id=message_id).status_code

    message_ids = [f"race-{n}" for n in range(4)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(deliver, [m for m in message_ids for _ in range(8)]))
    assert statuses == [200] * 32
    assert _all_results(stack) == []
    assert len(stack.export_calls()) == 4
    assert sorted(r["state"] for r in stack.run_records()) == ["done"] * 4


def test_deeply_nested_message_is_refused_once(stack):
    stack.publish(b"[" * 50_000 + b"]" * 50_000)
    report, attributes = stack.result()
    _assert_failure_shape(report)
    assert report["error"]["reason"] == "not_json" and "nested too deeply" in \
        report["error"]["message"]
    time.sleep(3)
    assert stack.pubsub.pull(stack.results, timeout=1) == []  # acknowledged: no redelivery
    assert stack.pubsub.pull(stack.dead_letters, timeout=1) == []


def test_huge_name_is_refused_with_a_short_quote(stack):
    huge = "\U0001F600" * 850_000  # 3.4 MB of emoji
    stack.publish(json.dumps({"annotatedDataset": huge}, ensure_ascii=False).encode())
    report, attributes = stack.result(timeout=60)
    _assert_failure_shape(report)
    assert report["error"]["reason"] == "bad_resource_name"
    assert len(json.dumps(report)) < 2_000 and "850,000 characters in all" in \
        report["error"]["message"]
    assert all(len(v.encode()) <= 1024 for v in attributes.values())
    longest = max(len(line) for line in stack.server.log_text().splitlines())
    assert longest < 10_000, f"a log line of {longest:,} characters"


def test_overlong_project_id_is_refused_and_every_attribute_fits(stack):
    name = f"projects/{'a' * 1490}.com:my-project/datasets/flowers/annotatedDatasets/flowers-boxes"
    stack.publish({"annotatedDataset": name})
    report, attributes = stack.result()
    assert report["error"]["reason"] == "bad_resource_name"
    assert "project id of 6 to 30" in report["error"]["message"]
    assert all(len(v.encode()) <= 1024 for v in attributes.values())
    assert stack.datalabeling.calls("getAnnotatedDataset") == []


def test_operation_unknown_to_the_service_is_a_failed_result(stack):
    stack.datalabeling.set_operation_delay(5)  # nothing lands before the 404s are seen
    stack.datalabeling.inject_fault(404, count=100, method="getOperation")
    stack.publish({"annotatedDataset": BOXES})
    report, attributes = stack.result()
    _assert_failure_shape(report)
    assert report["error"]["reason"] == "operation_unavailable" and "404" in \
        report["error"]["message"]
    (run,) = stack.run_records()
    assert run["state"] == "failed" and run["failure"] == report
    time.sleep(3)
    assert stack.pubsub.pull(stack.dead_letters, timeout=1) == []
    assert len(stack.export_calls()) == 1


@pytest.fixture
def patient_stack(storage_emulator, pubsub_emulator, datalabeling, functions_server,
                  unique_name):
    return ExportStack(storage_emulator, pubsub_emulator, datalabeling, functions_server,
                       unique_name, OPERATION_WAIT_SECONDS="60")


def test_poll_faults_inside_the_wait_cost_no_delivery(patient_stack):
    stack = patient_stack
    stack.datalabeling.inject_fault(503, count=5, method="getOperation")
    stack.publish({"annotatedDataset": BOXES})
    stack.done_runs(timeout=60)
    assert [c["status"] for c in stack.datalabeling.calls("getOperation")][:5] == [503] * 5
    assert not [e for e in stack.server.json_logs()
                if "transient failure" in e.get("message", "")]
    assert stack.pubsub.pull(stack.dead_letters, timeout=1) == []


@pytest.fixture
def hasty_stack(storage_emulator, pubsub_emulator, datalabeling, functions_server, unique_name):
    return ExportStack(storage_emulator, pubsub_emulator, datalabeling, functions_server,
                       unique_name, OPERATION_WAIT_SECONDS="1")


def test_operation_outliving_every_delivery_is_closed_when_its_export_lands(
        hasty_stack, functions_server):
    """Five deliveries of about a second each, an export that lands after 25 s: the message is
    dead-lettered while the operation goes on; split_export, when the export lands, marks the
    run done; and republishing the dead letter starts nothing."""
    stack = hasty_stack
    stack.datalabeling.set_operation_delay(25)  # five deliveries and backoffs take some 12 s
    stack.publish({"annotatedDataset": BOXES, "requestId": "long-export"})
    (dead,) = stack.pubsub.pull(stack.dead_letters, timeout=60)
    (run,) = stack.run_records()
    assert run["state"] == "exporting" and run["operation"]
    name = stack.wait_for(lambda: stack.exports(), timeout=40, what="the export")[0]
    splitter = functions_server("split_export", MAIN, stack.env)
    obj = stack.client.bucket(stack.export_bucket).get_blob(name)._properties
    answer = post_event(splitter.url, "google.cloud.storage.object.v1.finalized",
                        f"//storage.googleapis.com/projects/_/buckets/{stack.export_bucket}", obj)
    assert answer.status_code == 200
    (done,) = stack.done_runs()
    assert done["split"] == {"sourceGeneration": str(obj["generation"]), "status": "ok"}
    report, attributes = stack.result()
    assert attributes["status"] == "ok" and attributes["runId"] == run["runId"]

    stack.publish(dead.data, **{k: v for k, v in dead.attributes.items()
                                if not k.startswith("CloudPubSubDeadLetter")})
    time.sleep(3)
    assert len(stack.export_calls()) == 1 and stack.pubsub.pull(stack.dead_letters,
                                                                 timeout=1) == []


def test_done_record_says_when_it_was_written(stack):
    stack.datalabeling.set_operation_delay(2)
    stack.publish({"annotatedDataset": BOXES})
    (run,) = stack.done_runs()
    written = parse_time(run["updateTime"]) - parse_time(run["createTime"])
    assert written >= timedelta(seconds=2)


def test_unreadable_run_record_is_a_failed_result(stack):
    run_id = run_id_for(BOXES, "broken-record")
    stack.write_record(run_id, b"{not json")
    stack.publish({"annotatedDataset": BOXES, "requestId": "broken-record"})
    report, attributes = stack.result()
    _assert_failure_shape(report)
    assert report["error"]["reason"] == "bad_run_record" and attributes["runId"] == run_id
    time.sleep(3)
    assert stack.pubsub.pull(stack.results, timeout=1) == []
    assert stack.pubsub.pull(stack.dead_letters, timeout=1) == []
    assert stack.datalabeling.calls("exportData") == []


def test_export_call_refused_is_a_failed_result(stack):
    stack.datalabeling.inject_fault(403, count=1, method="exportData")
    stack.publish({"annotatedDataset": BOXES})
    report, attributes = stack.result()
    _assert_failure_shape(report)
    assert report["error"]["reason"] == "export_refused" and "403" in report["error"]["message"]
    (run,) = stack.run_records()
    assert run["state"] == "failed" and attributes["runId"] == run["runId"]


def test_run_records_live_outside_the_trigger_bucket(stack):
    stack.publish({"annotatedDataset": BOXES})
    (run,) = stack.done_runs()
    in_exports = [b.name for b in stack.client.list_blobs(stack.export_bucket)]
    assert in_exports == [f"exports/flowers/flowers-boxes/{run['runId']}/export.csv"]
    assert [b.name for b in stack.client.list_blobs(stack.split_bucket)] == [
        f"runs/{run['runId']}.json"]


def _push(body: dict, message_id: str, publish_time: datetime) -> dict:
    return {"message": {"data": base64.b64encode(json.dumps(body).encode()).decode(),
                        "messageId": message_id, "publishTime": format_time(publish_time),
                        "attributes": {}},
            "subscription": "projects/demo-project/subscriptions/s"}


def test_old_message_is_refused_unless_its_run_exists(stack):
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    source = f"//pubsub.googleapis.com/{stack.topic}"
    answer = post_event(stack.server.url, PUBLISHED, source,
                        _push({"annotatedDataset": BOXES}, "old-1", two_hours_ago))
    assert answer.status_code == 200
    report, attributes = stack.result()
    _assert_failure_shape(report)
    assert report["error"]["reason"] == "event_too_old" and report["messageId"] == "old-1"
    assert stack.run_records() == [] and stack.datalabeling.calls("getAnnotatedDataset") == []

    stack.publish({"annotatedDataset": BOXES, "requestId": "kept"})
    (run,) = stack.done_runs()
    answer = post_event(stack.server.url, PUBLISHED, source, _push(
        {"annotatedDataset": BOXES, "requestId": "kept"}, "old-2", two_hours_ago))
    assert answer.status_code == 200  # a stored run wins over the message's age
    assert _all_results(stack, wait=2) == []
    assert len(stack.export_calls()) == 1


def test_event_that_is_no_pubsub_message_is_a_failed_result(stack):
    answer = post_event(stack.server.url, "google.cloud.storage.object.v1.finalized",
                        "//storage.googleapis.com/x", {"bucket": "b", "name": "n"},
                        event_id="not-pubsub")
    assert answer.status_code == 200
    report, attributes = stack.result()
    _assert_failure_shape(report)
    assert report["error"]["reason"] == "malformed_event" and report["eventId"] == "not-pubsub"
