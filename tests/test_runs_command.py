"""`labelexport runs`, against the local Storage emulator: run records written by RunRecords,
a split made by split_export's own SplitRun, and the command as installed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from labelexport import config, gcs
from labelexport.events import StorageObjectEvent
from labelexport.export_paths import export_prefix, split_prefix_of
from labelexport.results import Results
from labelexport.run_records import RunRecords
from labelexport.split_run import SplitRun

from devstack.sample_exports import find_sample, render_export

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

LABELEXPORT = str(Path(sys.executable).with_name("labelexport"))
PROJECT = "test-project"
DIRTY = find_sample("flowers", "flowers-boxes-dirty")


class Runs:
    def __init__(self, storage, unique_name, monkeypatch):
        self.storage = storage
        self.export_bucket, self.split_bucket = unique_name("exports"), unique_name("splits")
        storage.create_bucket(self.export_bucket)
        storage.create_bucket(self.split_bucket)
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", storage.endpoint)
        gcs.client.cache_clear()
        self.store = gcs.GcsStore()
        self.records = RunRecords(self.store, self.split_bucket)

    def record(self, run_id: str, state: str, **fields) -> dict:
        """A run record as export_labeled_data writes it."""
        prefix = export_prefix("flowers", "flowers-boxes-dirty", run_id)
        record = {"runId": run_id, "state": state,
                  "annotatedDataset": f"projects/{PROJECT}/datasets/flowers/annotatedDatasets/"
                                      "flowers-boxes-dirty",
                  "annotationType": DIRTY.annotation_type, "format": "csv", "filter": "",
                  "requestId": f"req-{run_id}", "messageId": f"m-{run_id}",
                  "exportPrefix": f"gs://{self.export_bucket}/{prefix}",
                  "createTime": "2026-11-24T13:00:00Z", "updateTime": "2026-11-24T13:00:05Z",
                  **fields}
        self.records.create(record)
        return record

    def split(self, run_id: str) -> dict:
        """Export the sample into the run's prefix and split it as split_export does."""
        name = export_prefix("flowers", "flowers-boxes-dirty", run_id) + "export.csv"
        blob = self.storage.client().bucket(self.export_bucket).blob(name)
        blob.upload_from_string(render_export(DIRTY, PROJECT, "csv").data)
        published = []
        event = StorageObjectEvent("e", datetime.now(UTC), self.export_bucket, name,
                                   int(blob.generation), int(blob.size))
        settings = config.load_settings({"EXPORT_BUCKET": self.export_bucket,
                                         "SPLIT_BUCKET": self.split_bucket,
                                         "RESULTS_TOPIC": f"projects/{PROJECT}/topics/r"})
        results = Results(lambda *message: published.append(message), settings.results_topic,
                          "split")
        SplitRun(event, settings, self.store, results, lambda: datetime.now(UTC)).run()
        (_, manifest, _), = published
        return manifest

    def cli(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([LABELEXPORT, "runs", *args], capture_output=True, text=True,
                              timeout=60, env={"PATH": "/usr/bin:/bin",
                                               **self.storage.env(), **(env or {})})


@pytest.fixture
def runs(storage_emulator, unique_name, monkeypatch):
    stack = Runs(storage_emulator, unique_name, monkeypatch)
    stack.record("run-done", "done", operation="projects/p/operations/1",
                 result={"totalCount": "148", "exportCount": "148", "labelStats": {}})
    stack.manifest = stack.split("run-done")
    stack.record("run-failed", "failed", failure={
        "status": "failed", "stage": "export",
        "error": {"reason": "export_failed", "message": "operation 2 ended in error 13"}})
    stack.record("run-exporting", "exporting", operation="projects/p/operations/3")
    return stack


def _table(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines()]


def test_lists_the_newest_runs_first_with_status_rows_and_report(runs):
    done = runs.cli("--bucket", runs.split_bucket)
    assert done.returncode == 0, done.stderr
    head, *rows = _table(done.stdout)
    assert head == ["RUN", "DATASET", "STATE", "STATUS", "ROWS", "WHEN", "REPORT"]
    assert [row[0] for row in rows] == ["run-exporting", "run-failed", "run-done"]
    assert rows[0][1:4] == ["flowers/flowers-boxes-dirty", "exporting", "pending"]
    assert rows[1][2:4] == ["failed", "failed"]
    manifest = runs.manifest
    assert rows[2][2:4] == ["done", manifest["status"]] == ["done", "rejected"]
    assert rows[2][4:8] == [f"{manifest['rows']['read']:,}", "read,",
                            f"{manifest['rows']['rejected']:,}", "rejected"]
    assert rows[2][-1] == manifest["report"]["uri"] == \
        f"gs://{runs.split_bucket}/flowers/flowers-boxes-dirty/run-done/report.html"
    assert runs.storage.client().bucket(runs.split_bucket).get_blob(
        "flowers/flowers-boxes-dirty/run-done/report.html") is not None


def test_limit_and_json(runs):
    done = runs.cli("--bucket", runs.split_bucket,
                    "--limit", "2", "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [run["runId"] for run in listed] == ["run-exporting", "run-failed"]
    assert listed[1] == {"runId": "run-failed", "dataset": runs.records.load("run-failed")
                         .record["annotatedDataset"], "state": "failed", "status": "failed",
                         "rows": "", "when": "2026-11-24T13:00:05Z", "report": ""}


def test_buckets_come_from_the_settings_names_too(runs):
    done = runs.cli(env={"SPLIT_BUCKET": runs.split_bucket})
    assert done.returncode == 0, done.stderr
    rows = {row[0]: row for row in _table(done.stdout)[1:]}
    assert rows["run-done"][2:4] == ["done", runs.manifest["status"]]


def test_one_run_in_full(runs):
    done = runs.cli("run-done", "--bucket", runs.split_bucket)
    assert done.returncode == 0, done.stderr
    out, manifest = done.stdout, runs.manifest
    assert out.startswith("run run-done: done, status rejected\n")
    assert "operation:        projects/p/operations/1" in out
    assert "export result:    exportCount 148, totalCount 148" in out
    rows = manifest["rows"]
    assert f"rows: {rows['read']} read, {rows['written']} written, {rows['rejected']} rejected" \
        in out
    for name, split in manifest["splits"].items():
        assert f"{split['rows']:>10,} rows {split['items']:>9,} items  {split['uri']}" in out, name
    assert f"warnings: {len(manifest['warnings'])}" in out
    for warning in manifest["warnings"]:
        assert f"{warning['code']}: label {warning['label']!r}" in out
    first = manifest["rejected"]["first"][0]
    assert f"line {first['line']}: {first['reason']}: " in out
    assert out.rstrip().endswith(f"report: {manifest['report']['uri']}")

    failed = runs.cli("run-failed", "--bucket", runs.split_bucket, "--json")
    shown = json.loads(failed.stdout)
    assert shown["record"]["failure"]["error"]["reason"] == "export_failed"
    assert shown["manifest"] is None


@pytest.mark.parametrize(("args", "message"), [
    (["nope"], "no run 'nope' in gs://{bucket}/runs/"),
    (["../etc"], "no run '../etc' in gs://{bucket}/runs/"),
])
def test_an_unknown_run_is_one_line_and_exit_2(runs, args, message):
    done = runs.cli(*args, "--bucket", runs.split_bucket)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"labelexport: error: {message.format(bucket=runs.split_bucket)}\n"


def test_no_bucket_is_bad_usage(storage_emulator):
    done = subprocess.run([LABELEXPORT, "runs"], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", **storage_emulator.env()})
    assert done.returncode == 2
    assert done.stderr == "labelexport: error: runs needs --bucket SPLIT_BUCKET " \
                          "(or SPLIT_BUCKET set)\n"


def test_an_empty_bucket_says_so(storage_emulator, unique_name):
    bucket = unique_name("empty")
    storage_emulator.create_bucket(bucket)
    done = subprocess.run([LABELEXPORT, "runs", "--bucket", bucket], capture_output=True,
                          text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", **storage_emulator.env()})
    assert done.returncode == 0 and done.stdout == f"no runs in gs://{bucket}/runs/\n"


@pytest.mark.parametrize(("prefix", "split_prefix"), [
    ("gs://e/exports/flowers/boxes/r1/", "flowers/boxes/r1/"),
    ("gs://e/exports/flowers/boxes/r1", "flowers/boxes/r1/"),
    ("gs://e/exports/vertex/us-central1/123/r1/", "vertex/us-central1/123/r1/"),
    ("gs://e/exports/", None),
    ("gs://e/exports//r1/", None),
    ("gs://e/other/flowers/boxes/r1/", None),
    ("", None),
])
def test_where_a_records_split_is(prefix, split_prefix):
    assert split_prefix_of(prefix) == split_prefix
