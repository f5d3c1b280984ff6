"""The whole pipeline on one machine (devstack.pipeline.LocalPipeline): from a labeling-completion
message on labeling-complete to the result message on labeling-export-results, through the
Pub/Sub push subscription, export_labeled_data, the Data Labeling stand-in, the Storage
emulator's finalize events and split_export. Also the demo, run as a newcomer runs it."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from labelexport.run_records import run_id_for

from devstack import processes
from devstack.pipeline import LocalPipeline
from devstack.ports import is_listening
from devstack.sample_exports import CATALOG, find_sample, render_export

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _report(capsys, text: str) -> None:
    """Print a measurement even under -q (pytest captures output otherwise)."""
    with capsys.disabled():
        print(f"\n  {text}", flush=True)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """One running pipeline for the module; afterwards nothing of it may remain."""
    with LocalPipeline(log_dir=tmp_path_factory.mktemp("pipeline-logs")) as running:
        yield running
    leftovers = [p for p in running.processes if not p.is_gone() or p in processes.running()]
    assert not leftovers, f"pipeline processes still alive after stop(): {leftovers}"
    listening = [port for port in running.ports if is_listening(port)]
    assert not listening, f"pipeline ports still listening after stop(): {listening}"


@pytest.fixture
def gcloud_env(tmp_path):
    """The caller's environment with a throwaway gcloud configuration folder, so that running
    gcloud leaves the user's own configuration alone."""
    return {**os.environ, "CLOUDSDK_CONFIG": str(tmp_path / "gcloud")}


def _lines(sample, fmt: str, project: str) -> int:
    return len(render_export(sample, project, fmt).data.splitlines())


def _check_ok(pipeline: LocalPipeline, sample, fmt: str, run_id: str, manifest: dict,
              attributes: dict) -> None:
    where = f"{sample.annotated_dataset_id} as {fmt}"
    assert attributes["status"] == "ok" == manifest["status"], (where, manifest)
    assert attributes["runId"] == run_id
    assert attributes["annotatedDataset"] == sample.name(pipeline.project)
    assert manifest["source"]["annotationType"] == sample.annotation_type, where
    rows = manifest["rows"]
    assert rows["read"] == _lines(sample, fmt, pipeline.project), where
    assert rows["rejected"] == 0 and rows["written"] == rows["read"], where
    files = pipeline.split_outputs(sample.name(pipeline.project), run_id)
    assert json.loads(files["manifest.json"]) == manifest, where
    assert files["rejected.jsonl"] == b"", where
    assert manifest["report"]["uri"].endswith(f"/{run_id}/report.html"), where
    assert files["report.html"].startswith(b"<!DOCTYPE html>"), where
    total = 0
    for split, counts in manifest["splits"].items():
        name = f"{split}.{fmt}"
        assert counts["uri"].endswith(f"/{run_id}/{name}"), where
        assert len(files[name].splitlines()) == counts["rows"], (where, split)
        total += counts["rows"]
    assert total == rows["written"], where


EXPORTS = [(s, fmt) for s in CATALOG if not s.dirty for fmt in s.formats]


def test_every_annotation_type_in_every_format_from_message_to_result(pipeline, capsys):
    assert len(EXPORTS) == 23  # 10 types as CSV, all 12 as JSONL, entities also in the guide's form
    started = time.monotonic()
    sent = {pipeline.publish_completion(sample.name(pipeline.project), fmt,
                                        request_id=f"all-types-{fmt}").run_id: (sample, fmt)
            for sample, fmt in EXPORTS}
    results = pipeline.wait_for_results(sent, timeout=120)
    _report(capsys, f"{len(sent)} exports, published at once, all results in "
                    f"{time.monotonic() - started:.1f} s")
    for run_id, (manifest, attributes) in results.items():
        sample, fmt = sent[run_id]
        _check_ok(pipeline, sample, fmt, run_id, manifest, attributes)
        record = pipeline.wait_for_run(run_id, timeout=30)
        assert record["state"] == "done" and record["format"] == fmt


def test_run_records_invoke_no_split_export(pipeline):
    """Run records live in SPLIT_BUCKET: none of their writes is a finalize event of
    EXPORT_BUCKET, so split_export is invoked for exports only (it was 4 times per run)."""
    sample = find_sample("flowers", "flowers-boxes")
    sent = pipeline.publish_completion(sample.name(pipeline.project), "csv",
                                       request_id="records-trigger-nothing")
    pipeline.wait_for_result(sent.run_id, timeout=60)
    assert pipeline.wait_for_run(sent.run_id)["state"] == "done"
    time.sleep(1)  # a finalize event of a record write would be delivered by now
    ignored = [e for e in pipeline.split_function.json_logs()  # a set's files are ignored too
               if e.get("message", "").startswith("not an export object")
               and "/runs/" in e.get("source", "")]
    assert ignored == []
    assert [n for n in pipeline.list_objects(pipeline.export_bucket, "")
            if not n.startswith("exports/")] == []


def test_export_with_bad_rows_is_rejected_with_the_rows_kept(pipeline):
    dirty = [(s, fmt) for s in CATALOG if s.dirty for fmt in s.formats]
    sent = {pipeline.publish_completion(s.name(pipeline.project), fmt,
                                        request_id=f"dirty-{fmt}").run_id: (s, fmt)
            for s, fmt in dirty}
    for run_id, (manifest, attributes) in pipeline.wait_for_results(sent, 60).items():
        sample, fmt = sent[run_id]
        rendered = render_export(sample, pipeline.project, fmt)
        assert attributes["status"] == "rejected" == manifest["status"]
        rows = manifest["rows"]
        assert rows["read"] == len(rendered.data.splitlines())
        assert rows["rejected"] == len(rendered.bad_lines) > 0
        assert rows["written"] + rows["rejected"] == rows["read"]
        files = pipeline.split_outputs(sample.name(pipeline.project), run_id)
        rejected = [json.loads(line) for line in files["rejected.jsonl"].splitlines()]
        assert {r["line"]: r["reason"] for r in rejected} == rendered.bad_lines
        raw = rendered.data.decode().splitlines()
        assert all(r["raw"] == raw[r["line"] - 1] and r["detail"] for r in rejected)
        assert sum(s["rows"] for s in manifest["splits"].values()) == rows["written"]


def test_same_request_id_twice_is_one_export_and_one_result(pipeline):
    name = pipeline.annotated_dataset("IMAGE_CLASSIFICATION_ANNOTATION")
    first = pipeline.publish_completion(name, "csv", request_id="nightly-2026-11-24")
    second = pipeline.publish_completion(name, "csv", request_id="nightly-2026-11-24")
    assert first.run_id == second.run_id and first.message_id != second.message_id
    manifest, _ = pipeline.wait_for_result(first.run_id, timeout=60)
    assert manifest["status"] == "ok"
    # One message made the export; the other found its run and followed it ...
    messages = {first.message_id, second.message_id}
    pipeline.export_function.wait_for_log(
        lambda e: e.get("messageId") in messages and e["message"].startswith(
            ("run already", "another delivery created the run first")), timeout=30)
    # ... and announced nothing; exportData ran once, one export object exists.
    with pytest.raises(TimeoutError):
        pipeline.wait_for_result(first.run_id, timeout=2)
    calls = [c for c in pipeline.datalabeling.calls("exportData") if first.run_id in str(c)]
    assert [c["status"] for c in calls] == [200]
    assert len([n for n in pipeline.export_objects() if f"/{first.run_id}/" in n]) == 1


def test_labelexport_retry_is_a_second_separate_run_with_its_own_result(pipeline):
    name = pipeline.annotated_dataset("TEXT_CLASSIFICATION_ANNOTATION")
    first = pipeline.publish_completion(name, "csv", request_id="before-retry")
    manifest, _ = pipeline.wait_for_result(first.run_id, timeout=60)
    command = pipeline.commands(name, "csv")["retry"]  # as printed, with PUBSUB_EMULATOR_HOST
    assert command.startswith(f"PUBSUB_EMULATOR_HOST={pipeline.pubsub.host} ")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    request_id = re.search(r'"requestId": "(retry-[0-9a-f]+)"', done.stdout)[1]
    retried = run_id_for(name, request_id)
    again, attributes = pipeline.wait_for_result(retried, timeout=60)
    assert retried != first.run_id and attributes["status"] == "ok"
    assert again["rows"] == manifest["rows"]
    assert again["source"]["uri"] != manifest["source"]["uri"]
    assert {r["runId"] for r in pipeline.run_records()} >= {first.run_id, retried}


def test_data_labeling_503_burst_is_absorbed_by_redelivery(pipeline):
    sample = find_sample("flowers", "flowers-polylines")
    pipeline.wait_until_settled()  # the faults are for this run alone
    pipeline.datalabeling.inject_fault(503, count=2, method="exportData")
    pipeline.datalabeling.inject_fault(503, count=1, method="getOperation")
    sent = pipeline.publish_completion(sample.name(pipeline.project), "csv", request_id="503s")
    manifest, attributes = pipeline.wait_for_result(sent.run_id, timeout=60)
    _check_ok(pipeline, sample, "csv", sent.run_id, manifest, attributes)
    exports = [c for c in pipeline.datalabeling.calls("exportData") if sent.run_id in str(c)]
    assert [c["status"] for c in exports] == [503, 503, 200]  # exportData succeeded once
    record = pipeline.wait_for_run(sent.run_id)  # the result can come before the last poll
    assert record["state"] == "done"
    operation = record["operation"]
    polls = [c["status"] for c in pipeline.datalabeling.calls("getOperation")
             if c["path"].endswith(operation)]
    assert polls[0] == 503 and polls[-1] == 200


def test_message_that_keeps_failing_ends_on_the_dead_letter_topic(pipeline, capsys):
    name = pipeline.annotated_dataset("VIDEO_EVENT_ANNOTATION")
    pipeline.wait_until_settled()
    pipeline.datalabeling.inject_fault(503, count=1000, method="getAnnotatedDataset")
    started = time.monotonic()
    try:
        sent = pipeline.publish_completion(name, "jsonl", request_id="never")
        (dead,) = pipeline.dead_letters(timeout=60)
        tries = [c["status"] for c in pipeline.datalabeling.calls("getAnnotatedDataset")
                 if c["path"].endswith(name)]
    finally:
        pipeline.datalabeling.reset()  # nothing else is in flight: tests run one at a time
    deliveries = dead.attributes["CloudPubSubDeadLetterSourceDeliveryCount"]
    _report(capsys, f"dead-lettered after {deliveries} deliveries, "
                    f"{time.monotonic() - started:.1f} s after publishing")
    assert json.loads(dead.data) == sent.body
    assert deliveries == "5" and tries[-5:] == [503] * 5 and 503 not in tries[:-5]
    assert dead.attributes["CloudPubSubDeadLetterSourceSubscription"] == "labeling-complete-export"
    assert pipeline.run_record(sent.run_id) is None


def test_ten_thousand_rows_from_message_to_result(pipeline, capsys):
    sample = find_sample("flowers", "flowers-classification-x10000")
    started = time.monotonic()
    sent = pipeline.publish_completion(sample.name(pipeline.project), "csv", request_id="10k")
    manifest, attributes = pipeline.wait_for_result(sent.run_id, timeout=120)
    latency = time.monotonic() - started
    assert manifest["rows"]["read"] == 10_000
    _check_ok(pipeline, sample, "csv", sent.run_id, manifest, attributes)
    _report(capsys, f"10,000-row CSV export: {latency:.2f} s from publish to result message")


def test_gcloud_publish_by_hand_reaches_the_pipeline(pipeline, gcloud_env):
    name = pipeline.annotated_dataset("VIDEO_OBJECT_TRACKING_ANNOTATION")
    commands = pipeline.commands(name, "csv")
    done = subprocess.run(["bash", "-c", commands["publish"]], env=gcloud_env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    message_id = re.search(r"messageIds:\s*- '(\d+)'", done.stdout)[1]
    manifest, attributes = pipeline.wait_for_result(run_id_for(name, message_id), timeout=60)
    assert attributes["status"] == "ok" and manifest["source"]["format"] == "csv"


def _read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def test_demo_runs_end_to_end(capsys):
    started = time.monotonic()
    done = subprocess.run([PYTHON, "-m", "devstack.demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""  # no log noise: the processes log to files
    out = done.stdout
    lines = _lines(find_sample("flowers", "flowers-boxes"), "csv", "demo-project")
    assert "status ok" in out and f"{lines} read, {lines} written, 0 rejected" in out
    assert re.search(r"^  train\.csv +\d+ +\d+$", out, re.MULTILINE)
    assert re.search(r"^  tulip +\d+ +\d+ +\d+$", out, re.MULTILINE)  # rows per label
    report = re.search(r"^Report: (gs://\S+/report\.html) \(Storage emulator\)\n"
                       r"  a copy to open in a browser: (\S+)$", out, re.MULTILINE)
    assert report, out
    copy = Path(report[2])
    assert copy.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    train = report[1].replace("/report.html", "/train.csv")  # the run's own split files
    assert f"<code>{train}</code>" in copy.read_text(encoding="utf-8")
    assert "Stopped everything." in out
    _report(capsys, f"python -m devstack.demo: {took:.1f} s wall time, start to finish")


def test_demo_keep_running_commands_work_and_ctrl_c_stops_everything(gcloud_env):
    demo = subprocess.Popen([PYTHON, "-m", "devstack.demo", "--dirty", "--keep-running"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_read_lines, args=(demo.stdout, lines), daemon=True).start()
    out: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not out or "Press Ctrl-C" not in out[-1]:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, "".join(out)
            out.append(line)
        text = "".join(out)
        assert "status rejected" in text and "Rejected rows" in text
        exports = [line.strip() for line in out if line.startswith("  export ")]
        commands = {key: next(line.strip() for line in out if line.strip().startswith(start))
                    for key, start in (("publish", "gcloud pubsub topics publish"),
                                       ("results", "gcloud pubsub subscriptions pull"),
                                       ("ls", "gcloud storage ls"),
                                       ("cat", "gcloud storage cat"),
                                       ("validate", ".venv/bin/labelexport validate"),
                                       ("runs", ".venv/bin/labelexport runs"))}

        def shell(command: str) -> str:
            done = subprocess.run(["bash", "-c", "\n".join([*exports, command])], cwd=ROOT,
                                  env=gcloud_env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            return done.stdout

        assert "messageIds:" in shell(commands["publish"])
        assert "rejected" in shell(commands["results"])  # the by-hand run's result (dirty)
        assert "/train.csv" in shell(commands["ls"])
        assert shell(commands["cat"]).startswith(("TRAIN,", "VALIDATION,", "TEST,"))
        assert "status: ok" in shell(commands["validate"])
        runs = shell(commands["runs"]).splitlines()  # the demo's run and the by-hand one
        assert runs[0].split()[:4] == ["RUN", "DATASET", "STATE", "STATUS"] and len(runs) >= 2
        assert any(" done " in line and " rejected " in line and line.endswith("/report.html")
                   for line in runs[1:]), runs

        demo.send_signal(signal.SIGINT)
        assert demo.wait(30) == 130
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    while (line := lines.get(timeout=5)) is not None:
        out.append(line)
    assert "Interrupted (SIGINT): stopped everything." in out[-1]
    ports = [int(port) for line in exports for port in re.findall(r"127\.0\.0\.1:(\d+)", line)]
    assert ports and not any(is_listening(port) for port in ports)


def test_a_pipeline_stops_everything_also_when_its_block_raises(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with LocalPipeline(log_dir=tmp_path) as doomed:
            assert all(is_listening(port) for port in doomed.ports)
            raise RuntimeError("boom")
    assert doomed.is_stopped()
    assert not set(doomed.processes) & set(processes.running())
