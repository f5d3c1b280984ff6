"""split_export's work for one finalized object: decide whether it is a new export, split it
into SPLIT_BUCKET, and announce the result. Idempotent under redelivery by Cloud Storage
preconditions alone: the manifest names the source generation it was made from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from google.api_core import exceptions as api_exceptions

from labelexport import formats, gcs, logs
from labelexport.config import Settings
from labelexport.errors import SourceError
from labelexport.events import StorageObjectEvent
from labelexport.export_paths import ExportObject, parse_export_object, run_record_name
from labelexport.manifest import MANIFEST_NAME, render, source_time
from labelexport.results import failure_report, result_attributes
from labelexport.splitter import SplitJob, split_export

TYPE_METADATA_KEY = "annotationType"
DATASET_METADATA_KEY = "annotatedDataset"

Publish = Callable[[str, dict, dict[str, str]], object]


def _source_generation(manifest: dict) -> int:
    try:
        return int(manifest.get("source", {}).get("generation") or 0)
    except (TypeError, ValueError):
        return 0


class SplitRun:
    """One finalize event's handling; `run()` returns what happened, in one word."""

    def __init__(self, event: StorageObjectEvent, settings: Settings, store: gcs.GcsStore,
                 publish: Publish, now: datetime):
        self.event = event
        self.settings = settings
        self.store = store
        self.publish = publish
        self.now = now
        self.log_fields = {"source": event.uri, "sourceGeneration": event.generation,
                           "eventId": event.event_id}

    def run(self) -> str:
        event, settings = self.event, self.settings
        export = parse_export_object(event.name) if event.bucket == settings.export_bucket \
            else None
        if export is None:
            logs.info("not an export object: ignored", **self.log_fields)
            return "ignored"
        self.log_fields.update(runId=export.run)
        record = self.store.read_json(settings.export_bucket, run_record_name(export.run))
        self.record = record[0] if record else {}
        self.annotated_dataset = self.record.get("annotatedDataset") \
            or event.metadata.get(DATASET_METADATA_KEY) \
            or f"datasets/{export.dataset}/annotatedDatasets/{export.annotated}"
        age = (self.now - event.time).total_seconds() if event.time else 0.0
        if age > settings.event_max_age_seconds:
            self._report_failure(export, "event_too_old",
                                 f"the event is {age:.0f} s old, over EVENT_MAX_AGE_SECONDS="
                                 f"{settings.event_max_age_seconds:g}; publish a retry")
            return "too_old"
        if self.store.live_generation(event.bucket, event.name) != event.generation:
            logs.info("a newer generation of the export exists, or it was deleted: skipped",
                      **self.log_fields)
            return "superseded"
        prefix = export.split_prefix
        prior = self.store.read_json(settings.split_bucket, prefix + MANIFEST_NAME)
        if prior is not None:
            made_from = _source_generation(prior[0])
            if made_from == event.generation:
                logs.info("already split: announcing the same result again", **self.log_fields)
                self._announce(export, prior[0])
                return "duplicate"
            if made_from > event.generation:
                logs.info("outputs of a newer export generation exist: skipped",
                          **self.log_fields)
                return "superseded"
        existing = self.store.output_generations(settings.split_bucket, prefix)
        if any(int(made or 0) > event.generation for _, made in existing.values()):
            logs.info("outputs of a newer export generation exist: skipped", **self.log_fields)
            return "superseded"
        return self._split(export, {name: gen for name, (gen, _) in existing.items()})

    def _split(self, export: ExportObject, expected: dict[str, int]) -> str:
        event, settings = self.event, self.settings
        annotation_type, type_source = self._annotation_type(self.record)
        outputs = gcs.GcsFolder(settings.split_bucket, export.split_prefix,
                                source_generation=str(event.generation),
                                expected_generations=expected)
        job = SplitJob(source_uri=event.uri, policy=settings.policy,
                       source_generation=str(event.generation), format=export.format,
                       annotation_type=annotation_type, annotation_type_source=type_source)
        logs.info("splitting export", annotatedDataset=self.annotated_dataset,
                  annotationType=annotation_type or "(inferred)", **self.log_fields)
        try:
            with gcs.storage_errors(event.uri), \
                    gcs.open_object(event.uri, generation=event.generation) as (stream, blob):
                # the export's own time, the same for every delivery: never the clock's
                job = replace(job, source_time=source_time(blob.time_created))
                manifest = split_export(stream, job, outputs)
        except SourceError as exc:
            manifest = self._failure(export, "unreadable_export", str(exc))
            outputs.write_manifest(MANIFEST_NAME, render(manifest))
            logs.error(f"export cannot be split: {exc}", **self.log_fields)
        except api_exceptions.NotFound:
            logs.info("the export generation disappeared while being read: skipped",
                      **self.log_fields)
            return "superseded"
        logs.info(f"split done: {manifest['status']}", rows=manifest.get("rows"),
                  **self.log_fields)
        self._announce(export, manifest)
        return manifest["status"]

    def _annotation_type(self, record: dict) -> tuple[str | None, str]:
        for value, origin in ((record.get("annotationType"), "run_record"),
                              (self.event.metadata.get(TYPE_METADATA_KEY), "object_metadata")):
            known = formats.find(value)
            if known is not None:
                return known.name, origin
        return None, "inferred"

    def _failure(self, export: ExportObject, reason: str, message: str) -> dict:
        return failure_report("split", reason, message, source={
            "uri": self.event.uri, "generation": str(self.event.generation),
            "format": export.format})

    def _report_failure(self, export: ExportObject, reason: str, message: str) -> None:
        logs.error(message, reason=reason, **self.log_fields)
        self._announce(export, self._failure(export, reason, message))

    def _announce(self, export: ExportObject, manifest: dict) -> None:
        self.publish(self.settings.results_topic, manifest, result_attributes(
            status=manifest["status"], annotated_dataset=self.annotated_dataset,
            run_id=export.run,
            source=self.event.uri, source_generation=str(self.event.generation)))

