"""split_export served by functions-framework, against the Storage emulator (honouring
preconditions) and Google's Pub/Sub emulator, fed CloudEvents over HTTP."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cloudevents_http import post_event
from labelexport import config, export_sets, gcs
from labelexport.errors import LabelExportError
from labelexport.events import StorageObjectEvent, parse_time
from labelexport.report import render_report
from labelexport.results import FAILURE_FIELDS, Results
from labelexport.split_run import SplitRun, item_limit

from devstack import vertex_samples
from devstack.processes import peak_rss_kb
from devstack.sample_exports import find_sample, render_export

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]

PROJECT = "test-project"
FINALIZED = "google.cloud.storage.object.v1.finalized"
MAIN = Path(__file__).resolve().parent.parent / "functions" / "main.py"


class SplitStack:
    def __init__(self, storage, pubsub, functions_server, unique_name, **settings):
        self.storage, self.pubsub = storage, pubsub
        self.export_bucket = unique_name("exports")
        self.split_bucket = unique_name("splits")
        storage.create_bucket(self.export_bucket)
        storage.create_bucket(self.split_bucket)
        self.results_topic = pubsub.create_topic(PROJECT, unique_name("results"))
        self.results = pubsub.create_pull_subscription(PROJECT, unique_name("results-sub"),
                                                       self.results_topic)
        self.env = {"EXPORT_BUCKET": self.export_bucket, "SPLIT_BUCKET": self.split_bucket,
                    "RESULTS_TOPIC": self.results_topic, "GOOGLE_CLOUD_PROJECT": PROJECT,
                    **storage.env(), **pubsub.env(), **settings}
        self.client = storage.client()
        self.server = functions_server("split_export", MAIN, self.env)

    def upload(self, name: str, data: bytes, metadata: dict | None = None) -> dict:
        blob = self.client.bucket(self.export_bucket).blob(name)
        blob.metadata = metadata
        blob.upload_from_string(data)
        return blob._properties

    def deliver(self, obj: dict, mode: str = "binary", **kwargs):
        answer = post_event(self.server.url, FINALIZED,
                            f"//storage.googleapis.com/projects/_/buckets/{obj['bucket']}",
                            obj, mode=mode, subject=f"objects/{obj['name']}", **kwargs)
        assert answer.status_code == 200, answer.text
        return answer

    def result(self, timeout: float = 30):
        (message,) = self.pubsub.pull(self.results, max_messages=1, timeout=timeout)
        return json.loads(message.data), message.attributes

    def split_objects(self, prefix: str) -> dict[str, bytes]:
        return {b.name[len(prefix):]: b.download_as_bytes()
                for b in self.client.list_blobs(self.split_bucket, prefix=prefix)}

    def logs(self) -> list[dict]:
        return self.server.json_logs()


@pytest.fixture
def stack(storage_emulator, pubsub_emulator, functions_server, unique_name):
    return SplitStack(storage_emulator, pubsub_emulator, functions_server, unique_name)


def _export(dataset: str, annotated: str, fmt: str) -> bytes:
    return render_export(find_sample(dataset, annotated), PROJECT, fmt).data


@pytest.mark.parametrize(("annotated", "fmt", "mode"), [
    ("flowers-boxes", "csv", "binary"),
    ("flowers-classification", "csv", "structured"),
    ("wildlife-tracking", "csv", "binary"),
    ("news-topics", "csv", "structured"),
    ("flowers-polygons", "jsonl", "binary"),
    ("flowers-segmentation", "jsonl", "structured"),
    ("news-entities", "jsonl", "binary"),
])
def test_good_export_is_split_and_announced(stack, annotated, fmt, mode):
    dataset = {"flowers": "flowers", "wildlife": "wildlife-videos",
               "news": "news-articles"}[annotated.split("-")[0]]
    data = _export(dataset, annotated, fmt)
    obj = stack.upload(f"exports/{dataset}/{annotated}/run1/export.{fmt}", data)
    stack.deliver(obj, mode=mode)

    manifest, attributes = stack.result()
    prefix = f"{dataset}/{annotated}/run1/"
    assert attributes == {"status": "ok", "runId": "run1",
                          "annotatedDataset": f"datasets/{dataset}/annotatedDatasets/{annotated}",
                          "source": f"gs://{stack.export_bucket}/{obj['name']}",
                          "sourceGeneration": str(obj["generation"])}
    assert manifest["source"]["annotationTypeSource"] == "inferred"
    assert manifest["source"]["annotationType"] == find_sample(dataset, annotated).annotation_type
    rows = manifest["rows"]
    assert rows["read"] == len(data.splitlines()) == rows["written"] and rows["rejected"] == 0
    objects = stack.split_objects(prefix)
    assert set(objects) == {f"train.{fmt}", f"validation.{fmt}", f"test.{fmt}",
                            "rejected.jsonl", "report.html", "manifest.json"}
    assert json.loads(objects["manifest.json"]) == manifest
    # the time shown is the export's, not the clock's: the same for every delivery
    assert parse_time(manifest["source"]["time"]) == parse_time(obj["timeCreated"])
    _check_report(stack, prefix, manifest, objects)
    written = b"".join(objects[f"{s}.{fmt}"] for s in ("train", "validation", "test"))
    assert sorted(_without_ml_use(written, fmt)) == sorted(_without_ml_use(data, fmt))
    for split, counts in manifest["splits"].items():
        assert counts["uri"] == f"gs://{stack.split_bucket}/{prefix}{split}.{fmt}"
        assert counts["rows"] == len(objects[f"{split}.{fmt}"].splitlines())


def _check_report(stack, prefix: str, manifest: dict, objects: dict[str, bytes]) -> None:
    """report.html is beside the manifest, written before it, served as HTML, and linked."""
    bucket = stack.client.bucket(stack.split_bucket)
    report, written_last = bucket.get_blob(prefix + "report.html"), \
        bucket.get_blob(prefix + "manifest.json")
    assert manifest["report"]["uri"] == f"gs://{stack.split_bucket}/{prefix}report.html"
    assert report.content_type.startswith("text/html")
    assert report.generation < written_last.generation
    assert objects["report.html"].decode() == render_report(manifest)
    for name, split in manifest["splits"].items():
        assert split["bytes"] == len(objects[f"{name}.{manifest['source']['format']}"])


def _without_ml_use(data: bytes, fmt: str) -> list[bytes]:
    """Rows without the ML-use field, which the split rewrites for the rows it assigns."""
    if fmt == "jsonl":
        return data.splitlines()
    return [row.partition(b",")[2] for row in data.splitlines()]


def test_annotation_type_comes_from_the_run_record(stack):
    stack.client.bucket(stack.split_bucket).blob("runs/run7.json").upload_from_string(json.dumps(
        {"runId": "run7", "annotationType": "IMAGE_POLYLINE_ANNOTATION",
         "annotatedDataset": "projects/p/datasets/flowers/annotatedDatasets/flowers-polylines"}))
    obj = stack.upload("exports/flowers/flowers-polylines/run7/export.csv",
                       _export("flowers", "flowers-polylines", "csv"))
    stack.deliver(obj)
    manifest, attributes = stack.result()
    assert manifest["source"]["annotationType"] == "IMAGE_POLYLINE_ANNOTATION"
    assert manifest["source"]["annotationTypeSource"] == "run_record"
    assert attributes["annotatedDataset"] == \
        "projects/p/datasets/flowers/annotatedDatasets/flowers-polylines"


def test_annotation_type_from_object_metadata(stack):
    obj = stack.upload("exports/flowers/flowers-boxes/run8/export.csv",
                       _export("flowers", "flowers-boxes", "csv"),
                       metadata={"annotationType": "IMAGE_POLYLINE_ANNOTATION"})
    stack.deliver(obj)
    manifest, _ = stack.result()
    assert manifest["source"]["annotationTypeSource"] == "object_metadata"
    assert manifest["source"]["annotationType"] == "IMAGE_POLYLINE_ANNOTATION"


def test_export_with_bad_rows_is_rejected_with_the_rows_kept(stack):
    sample = find_sample("flowers", "flowers-boxes-dirty")
    rendered = render_export(sample, PROJECT, "csv")
    obj = stack.upload("exports/flowers/flowers-boxes-dirty/r1/export.csv", rendered.data)
    stack.deliver(obj)
    manifest, attributes = stack.result()
    assert attributes["status"] == manifest["status"] == "rejected"
    rejected = stack.split_objects("flowers/flowers-boxes-dirty/r1/")["rejected.jsonl"]
    lines = {json.loads(r)["line"]: json.loads(r)["reason"] for r in rejected.splitlines()}
    assert lines == rendered.bad_lines


def test_duplicate_event_gives_the_same_result_and_one_manifest(stack):
    obj = stack.upload("exports/flowers/flowers-boxes/dup/export.csv",
                       _export("flowers", "flowers-boxes", "csv"))
    stack.deliver(obj, event_id="same-event")
    first, first_attributes = stack.result()
    manifest_blob = stack.client.bucket(stack.split_bucket).get_blob(
        "flowers/flowers-boxes/dup/manifest.json")

    stack.deliver(obj, event_id="same-event")
    again, again_attributes = stack.result()
    assert (again, again_attributes) == (first, first_attributes)
    assert stack.client.bucket(stack.split_bucket).get_blob(
        "flowers/flowers-boxes/dup/manifest.json").generation == manifest_blob.generation
    assert any(e.get("message", "").startswith("already split") for e in stack.logs())


def test_new_generation_of_the_export_gives_a_new_result(stack):
    name = "exports/flowers/flowers-boxes/gen/export.csv"
    first = stack.upload(name, _export("flowers", "flowers-boxes", "csv"))
    stack.deliver(first)
    assert stack.result()[0]["status"] == "ok"
    second = stack.upload(name, b"TRAIN,gs://b/only.jpg,rose,0.1,0.1,,,0.3,0.3,,\n")
    stack.deliver(second)
    manifest, attributes = stack.result()
    assert attributes["sourceGeneration"] == str(second["generation"]) != str(first["generation"])
    assert manifest["rows"]["read"] == 1
    assert stack.split_objects("flowers/flowers-boxes/gen/")["train.csv"] == \
        b"TRAIN,gs://b/only.jpg,rose,0.1,0.1,,,0.3,0.3,,\n"

    stack.deliver(first)  # the first generation's event, late: it no longer exists
    assert stack.pubsub.pull(stack.results, timeout=2, min_messages=1) == []


class _CrashBeforeManifest(gcs.GcsFolder):
    def write_manifest(self, name, text):
        raise SystemExit("crash injected between the split files and the manifest")


def test_crash_between_splits_and_manifest_then_redelivery(stack, monkeypatch):
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    gcs.client.cache_clear()
    obj = stack.upload("exports/flowers/flowers-boxes/crash/export.csv",
                       _export("flowers", "flowers-boxes", "csv"))
    event = StorageObjectEvent("e1", datetime.now(UTC), obj["bucket"], obj["name"],
                               int(obj["generation"]), int(obj["size"]))
    monkeypatch.setattr(gcs, "GcsFolder", _CrashBeforeManifest)
    with pytest.raises(SystemExit):
        settings = config.load_settings()
        SplitRun(event, settings, gcs.GcsStore(), Results(lambda *a: None, "t", "split"),
                 lambda: datetime.now(UTC)).run()
    prefix = "flowers/flowers-boxes/crash/"
    left = stack.split_objects(prefix)
    assert "manifest.json" not in left and "train.csv" in left  # splits written, no manifest
    assert "report.html" in left  # written before the manifest; the redelivery writes it again
    gcs.client.cache_clear()

    stack.deliver(obj)  # the platform redelivers after the crash
    manifest, attributes = stack.result()
    assert attributes["status"] == "ok"
    objects = stack.split_objects(prefix)
    assert {k: v for k, v in objects.items() if k != "manifest.json"} == left
    assert json.loads(objects["manifest.json"]) == manifest


def test_precondition_refuses_a_concurrent_writer(stack, monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", stack.storage.endpoint)
    gcs.client.cache_clear()
    outputs = gcs.GcsFolder(stack.split_bucket, "race/", source_generation="1",
                            expected_generations={})
    stream = outputs.open("train.csv")
    stream.write("TRAIN,gs://b/a.jpg,rose\n")
    stack.client.bucket(stack.split_bucket).blob("race/train.csv").upload_from_string(b"other")
    with pytest.raises(gcs.ConcurrentWrite):
        outputs.commit("train.csv", stream)
    gcs.client.cache_clear()


def test_object_outside_exports_is_ignored(stack):
    for name in ("runs/r1.json", "exports/flowers/flowers-boxes/r1/masks/0001.png",
                 "exports/flowers/flowers-boxes/r1/export/train.csv", "other/export.csv"):
        obj = stack.upload(name, b"TRAIN,gs://b/a.jpg,rose\n")
        stack.deliver(obj)
    assert stack.pubsub.pull(stack.results, timeout=2, min_messages=1) == []
    assert list(stack.client.list_blobs(stack.split_bucket)) == []
    ignored = [e for e in stack.logs() if e.get("message", "").startswith("not an export")]
    assert len(ignored) == 4


@pytest.mark.parametrize(("event_type", "data", "words"), [
    (FINALIZED, {"name": "exports/a/b/c/export.csv"}, "no bucket or object name"),
    (FINALIZED, {"bucket": "b", "name": "exports/a/b/c/export.csv", "generation": "x"},
     "generation is not an integer"),
    ("google.cloud.storage.object.v1.deleted", {"bucket": "b", "name": "n", "generation": "1"},
     "expected a google.cloud.storage.object.v1.finalized event"),
])
def test_malformed_event_is_reported_and_acknowledged(stack, event_type, data, words):
    answer = post_event(stack.server.url, event_type, "//storage.googleapis.com/x", data)
    assert answer.status_code == 200
    report, attributes = stack.result()
    assert attributes["status"] == "failed"
    assert report["error"]["reason"] == "malformed_event" and words in report["error"]["message"]


def test_old_event_is_reported_and_dropped(stack):
    obj = stack.upload("exports/flowers/flowers-boxes/old/export.csv",
                       _export("flowers", "flowers-boxes", "csv"))
    long_ago = (datetime.now(UTC) - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    stack.deliver(obj, time=long_ago)
    report, attributes = stack.result()
    assert attributes["status"] == "failed" and attributes["runId"] == "old"
    assert report["error"]["reason"] == "event_too_old"
    assert list(stack.client.list_blobs(stack.split_bucket)) == []


def test_file_that_is_not_an_export_fails_once_and_is_acknowledged(stack):
    obj = stack.upload("exports/flowers/flowers-boxes/junk/export.csv", b"\x00\xff\xfe" * 100)
    stack.deliver(obj)
    report, attributes = stack.result()
    assert attributes["status"] == "failed" and report["error"]["reason"] == "unreadable_export"
    stack.deliver(obj)  # redelivered: the same failure, from the stored manifest
    assert stack.result() == (report, attributes)


def test_storage_outage_makes_the_platform_retry(stack, storage_emulator):
    obj = stack.upload("exports/flowers/flowers-boxes/out/export.csv",
                       _export("flowers", "flowers-boxes", "csv"))
    stack.env["STORAGE_EMULATOR_HOST"] = "http://127.0.0.1:9"  # nothing listens there
    answer = post_event(stack.server.url, FINALIZED, "//storage.googleapis.com/x", obj)
    assert answer.status_code == 200  # this server still points at the working emulator
    assert stack.result()[1]["status"] == "ok"


def test_200_mb_export_streams_with_flat_memory(stack, capsys):
    small = stack.upload("exports/big/boxes/warmup/export.csv",
                         _export("flowers", "flowers-boxes", "csv"))
    stack.deliver(small)
    stack.result()
    warm_mb = peak_rss_kb(stack.server.process.pid) / 1024

    rows = io.BytesIO()
    line = 0
    while rows.tell() < 200 * 10**6:
        chunk = "".join(
            f"UNASSIGNED,gs://bucket/images/img_{(line + k) // 3:09d}.jpg,label_{k % 400:03d},"
            f"0.1000,0.2000,,,0.5000,0.6000,,\n" for k in range(100_000))
        rows.write(chunk.encode())
        line += 100_000
    obj = stack.upload("exports/big/boxes/r1/export.csv", rows.getvalue())
    size_mb = rows.tell() / 10**6
    del rows
    stack.deliver(obj)
    manifest, _ = stack.result(timeout=240)
    peak_mb = peak_rss_kb(stack.server.process.pid) / 1024
    with capsys.disabled():
        print(f"\n{size_mb:.0f} MB export, {manifest['rows']['read']:,} rows: split_export peak "
              f"RSS {peak_mb:.0f} MB (after a 300-row export: {warm_mb:.0f} MB)")
    assert manifest["rows"]["written"] == line
    # Growth is the 8 MiB upload buffer of each output file (5 of them), the item index (at
    # most 48 bytes per distinct item, ~660,000 here), the report's template: about 85 MB,
    # whatever the export's size; an export held in memory would add its 207 MB and more.
    assert peak_mb - warm_mb < 0.5 * size_mb, "memory must not grow with the export"


def _one_row_items(count: int) -> bytes:
    return "".join(f"UNASSIGNED,gs://bucket/images/img_{k:07d}.jpg,cat,0.1,0.2,,,0.5,0.6,,\n"
                   for k in range(count)).encode()


def test_an_export_past_the_memory_ceiling_fails_clearly_and_one_within_it_splits(
        storage_emulator, pubsub_emulator, functions_server, unique_name):
    memory_mib = config.SPLIT_FIXED_MIB + 1  # room for a few tens of thousands of items
    limit = item_limit(memory_mib)
    stack = SplitStack(storage_emulator, pubsub_emulator, functions_server, unique_name,
                       SPLIT_MEMORY_MIB=str(memory_mib))
    over = stack.upload("exports/big/items/over/export.csv", _one_row_items(limit + 1))
    stack.deliver(over)  # acknowledged: a permanent failure is not retried

    failed, attributes = stack.result()
    assert failed["status"] == attributes["status"] == "failed"
    assert failed["error"]["reason"] == "too_many_items"
    message = failed["error"]["message"]
    source = f"gs://{stack.export_bucket}/exports/big/items/over/export.csv"
    for part in (f"more than {limit:,} distinct data items", f"SPLIT_MEMORY_MIB={memory_mib}",
                 "split_function.memory_mb", f"labelexport split {source}"):
        assert part in message, message
    assert set(stack.split_objects("big/items/over/")) == {"manifest.json"}  # nothing partial

    within = stack.upload("exports/big/items/within/export.csv", _one_row_items(limit))
    stack.deliver(within)
    manifest, _ = stack.result()
    assert manifest["status"] == "ok" and manifest["rows"]["written"] == limit


@pytest.mark.parametrize(("value", "error"), [
    ("lots", "whole number of MiB"),
    ("-1", "0 \\(no limit\\) or over"),
    (str(config.SPLIT_FIXED_MIB), "needs besides its item index"),
])
def test_a_memory_setting_without_room_for_items_is_refused(value, error):
    with pytest.raises(LabelExportError, match=error):
        config.parse_memory_mib(value)


def test_memory_setting_unset_or_0_means_no_item_limit():
    assert config.parse_memory_mib("0") == 0 and item_limit(0) is None
    assert item_limit(1024) > 40_000_000  # the default function: tens of millions of items


def test_settings_errors_are_loud(monkeypatch):
    monkeypatch.setenv("EXPORT_BUCKET", "same")
    monkeypatch.setenv("SPLIT_BUCKET", "same")
    monkeypatch.setenv("RESULTS_TOPIC", "projects/p/topics/t")
    with pytest.raises(LabelExportError, match="must differ"):
        config.load_settings()


# --------------------------------------------------------------------------- reliability


def _assert_failure_shape(report: dict) -> None:
    assert report["status"] == "failed" and report["stage"] == "split"
    assert {"status", "stage", "error"} <= set(report) <= set(FAILURE_FIELDS)


def _hours_ago(hours: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def test_late_redelivery_announces_the_stored_result(stack):
    obj = stack.upload("exports/flowers/flowers-boxes/late/export.csv",
                       _export("flowers", "flowers-boxes", "csv"))
    stack.deliver(obj, event_id="late-event")
    first = stack.result()
    assert first[1]["status"] == "ok"
    stack.deliver(obj, event_id="late-event", time=_hours_ago(2))  # redelivered 2 h later
    assert stack.result() == first


def test_unreadable_run_record_is_a_failed_result(stack):
    stack.client.bucket(stack.split_bucket).blob("runs/broken.json").upload_from_string(
        b"{not json")
    obj = stack.upload("exports/flowers/flowers-boxes/broken/export.csv",
                       _export("flowers", "flowers-boxes", "csv"))
    stack.deliver(obj)  # acknowledged (200), not retried
    report, attributes = stack.result()
    _assert_failure_shape(report)
    assert report["error"]["reason"] == "bad_run_record" and attributes["runId"] == "broken"
    assert "runs/broken.json" in report["error"]["message"]
    assert report["source"] == {"uri": f"gs://{stack.export_bucket}/{obj['name']}",
                                "generation": str(obj["generation"]), "format": "csv"}
    assert list(stack.client.list_blobs(stack.split_bucket, prefix="flowers/")) == []


def test_missing_split_bucket_is_a_failed_result(storage_emulator, pubsub_emulator,
                                                 functions_server, unique_name):
    stack = SplitStack(storage_emulator, pubsub_emulator, functions_server, unique_name)
    stack.env["SPLIT_BUCKET"] = unique_name("no-such-bucket")
    stack.server = functions_server("split_export", MAIN, stack.env)
    obj = stack.upload("exports/flowers/flowers-boxes/nobucket/export.csv",
                       _export("flowers", "flowers-boxes", "csv"))
    stack.deliver(obj)
    report, attributes = stack.result()
    _assert_failure_shape(report)
    assert report["error"]["reason"] == "object_not_found"
    assert stack.env["SPLIT_BUCKET"] in report["error"]["message"]


def test_the_split_marks_a_waiting_run_done(stack):
    record = {"runId": "waiting", "state": "exporting", "operation": "projects/demo-project/"
              "operations/o1", "annotationType": "IMAGE_BOUNDING_BOX_ANNOTATION",
              "annotatedDataset": "projects/demo-project/datasets/flowers/annotatedDatasets/"
                                  "flowers-boxes", "updateTime": "2026-11-24T09:30:00Z"}
    blob = stack.client.bucket(stack.split_bucket).blob("runs/waiting.json")
    blob.upload_from_string(json.dumps(record))
    obj = stack.upload("exports/flowers/flowers-boxes/waiting/export.csv",
                       _export("flowers", "flowers-boxes", "csv"))
    stack.deliver(obj)
    assert stack.result()[1]["status"] == "ok"
    done = json.loads(stack.client.bucket(stack.split_bucket).blob("runs/waiting.json")
                      .download_as_bytes())
    assert done["state"] == "done" and done["operation"] == record["operation"]
    assert done["split"] == {"sourceGeneration": str(obj["generation"]), "status": "ok"}
    assert parse_time(done["updateTime"]) > datetime.now(UTC) - timedelta(minutes=1)


def test_a_reject_quotes_a_short_prefix_of_its_row(stack):
    rows = (b"TRAIN,gs://b/a.jpg,rose,0.1,0.1,,,0.3,0.3,,\n"
            b"TRAIN,gs://b/b.jpg,rose," + b"x" * 1_000_000 + b",0.1,,,0.3,0.3,,\n")
    obj = stack.upload("exports/flowers/flowers-boxes/wide/export.csv", rows)
    stack.deliver(obj)
    manifest, _ = stack.result()
    assert manifest["rows"]["rejected"] == 1
    (reject,) = [json.loads(line) for line in
                 stack.split_objects("flowers/flowers-boxes/wide/")["rejected.jsonl"]
                 .splitlines()]
    assert reject["reason"] == "bad_number" and len(reject["detail"]) < 2_100
    assert len(reject["raw"]) > 1_000_000  # the row itself is kept whole
    longest = max(len(line) for line in stack.server.log_text().splitlines())
    assert longest < 10_000


class _GoneWhileRead(gcs.GcsStore):
    """The export is deleted right after its live generation was looked at: the split finds
    it gone when it opens it."""

    def live_generation(self, bucket, name):
        generation = super().live_generation(bucket, name)
        gcs.client().bucket(bucket).blob(name).delete()
        return generation


def _in_process(stack, monkeypatch) -> tuple[config.Settings, list]:
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    gcs.client.cache_clear()
    published: list = []
    return config.load_settings(), published


def _event(obj: dict) -> StorageObjectEvent:
    return StorageObjectEvent("e1", datetime.now(UTC), obj["bucket"], obj["name"],
                              int(obj["generation"]), int(obj["size"]))


def test_export_deleted_while_being_read_is_skipped(stack, monkeypatch):
    settings, published = _in_process(stack, monkeypatch)
    obj = stack.upload("exports/flowers/flowers-boxes/gone/export.csv",
                       _export("flowers", "flowers-boxes", "csv"))
    results = Results(lambda *message: published.append(message), settings.results_topic,
                      "split")
    try:
        outcome = SplitRun(_event(obj), settings, _GoneWhileRead(), results,
                           lambda: datetime.now(UTC)).run()
    finally:
        gcs.client.cache_clear()
    assert outcome == "superseded" and published == []
    assert list(stack.client.list_blobs(stack.split_bucket)) == []


class _CollidingFolder(gcs.GcsFolder):
    """Someone else writes train.csv as soon as the split opens it."""

    def open(self, name):
        stream = super().open(name)
        if name == "train.csv":
            gcs.client().bucket(self.bucket).blob(self.prefix + name).upload_from_string(b"x")
        return stream


def test_a_collision_on_a_large_output_names_that_output(stack, monkeypatch):
    settings, _ = _in_process(stack, monkeypatch)
    rows = b"".join(b"TRAIN,gs://bucket/images/img_%07d.jpg,rose,0.1,0.1,,,0.3,0.3,,\n" % n
                    for n in range(160_000))  # a train.csv of more than one 8 MiB chunk
    obj = stack.upload("exports/flowers/flowers-boxes/collide/export.csv", rows)
    monkeypatch.setattr(gcs, "GcsFolder", _CollidingFolder)
    try:
        with pytest.raises(gcs.ConcurrentWrite) as raised:
            SplitRun(_event(obj), settings, gcs.GcsStore(),
                     Results(lambda *a: None, settings.results_topic, "split"),
                     lambda: datetime.now(UTC)).run()
    finally:
        gcs.client.cache_clear()
    assert str(raised.value) == (f"gs://{stack.split_bucket}/flowers/flowers-boxes/collide/"
                                 "train.csv was written by someone else meanwhile")


def test_a_second_export_in_a_run_folder_never_overwrites_the_first(stack):
    first = stack.upload("exports/flowers/flowers-boxes/run9/export.csv",
                         _export("flowers", "flowers-boxes", "csv"))
    stack.deliver(first)
    manifest, _ = stack.result()
    prefix = "flowers/flowers-boxes/run9/"
    before = stack.split_objects(prefix)
    second = stack.upload("exports/flowers/flowers-boxes/run9/other.jsonl",
                          _export("flowers", "flowers-polygons", "jsonl"))
    stack.deliver(second)
    report, attributes = stack.result()
    assert attributes["status"] == "failed"
    assert report["error"]["reason"] == "split_prefix_taken"
    assert first["name"] in report["error"]["message"]
    assert stack.split_objects(prefix) == before  # the first export's outputs, untouched
    stack.deliver(first)  # the first export's own redelivery still announces its result
    again, _ = stack.result()
    assert again == manifest


def test_an_export_set_is_split_as_one_export(stack):
    dataset = vertex_samples.sample_for("image_bounding_box", dirty=True)
    export = vertex_samples.render_export(dataset)
    folder = "exports/vertex/us-central1/4000000000000000021/set1/"
    files = [stack.upload(f"{folder}files/{k}.jsonl", export.text(s).encode())
             for k, s in enumerate(dataset.annotation_sets)]
    ignored = stack.deliver(files[0])  # a set's file alone is no export
    assert ignored.status_code == 200
    document = export_sets.render(export_sets.ExportSet(
        run_id="set1", backend="vertex", dataset="projects/p/locations/us-central1/datasets/1",
        annotation_type="image_bounding_box", format="jsonl",
        files=tuple(export_sets.SetFile(f"gs://{stack.export_bucket}/{f['name']}",
                                        int(f["generation"]), int(f["size"])) for f in files)))
    stack.deliver(stack.upload(f"{folder}export-set.json", document))
    manifest, attributes = stack.result()
    assert attributes["runId"] == "set1" and manifest["status"] == "rejected"
    assert [f["rows"] for f in manifest["source"]["files"]] == [
        len(export.files[s]) for s in dataset.annotation_sets]
    rejected = stack.split_objects("vertex/us-central1/4000000000000000021/set1/")[
        "rejected.jsonl"].decode().splitlines()
    assert {json.loads(r)["file"] for r in rejected} == {
        f"gs://{stack.export_bucket}/{f['name']}" for f in files}
    assert stack.pubsub.pull(stack.results, timeout=1) == []  # one result for the set
