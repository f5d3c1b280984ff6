"""split_export's work for one finalized object: decide whether it is a new export, split it
into SPLIT_BUCKET, and announce the result. Idempotent under redelivery by Cloud Storage
preconditions alone: the manifest names the source generation it was made from. What to do is
`split_decision.decide`'s; this module observes and acts."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from functools import partial

from labelexport import export_sets, formats, gcs, logs
from labelexport.config import SPLIT_FIXED_MIB, Settings
from labelexport.errors import SourceError, TooManyItems
from labelexport.events import StorageObjectEvent, format_time
from labelexport.export_decision import DONE
from labelexport.export_paths import ExportObject, parse_export_object
from labelexport.item_index import items_within
from labelexport.manifest import MANIFEST_NAME, render, source_time
from labelexport.results import Results, ResultSubject
from labelexport.run_records import RunRecords, StoredRun, records_bucket
from labelexport.split_decision import Action, SplitFacts, closes_run, decide
from labelexport.splitter import SourceFile, SplitJob, split_export, split_files

TYPE_METADATA_KEY = "annotationType"
DATASET_METADATA_KEY = "annotatedDataset"
CLOSE_RUN_ATTEMPTS = 3

Clock = Callable[[], datetime]


@contextmanager
def _pinned(uri: str, generation: int):
    with gcs.storage_errors(uri), gcs.open_object(uri, generation=generation) as (stream, _):
        yield stream


def item_limit(memory_mib: int) -> int | None:
    """How many distinct data items a split holds in `memory_mib` (None: no limit known)."""
    return items_within((memory_mib - SPLIT_FIXED_MIB) << 20) if memory_mib else None


def _source_uri(manifest: dict) -> str:
    source = manifest.get("source")
    return str(source.get("uri") or "") if isinstance(source, dict) else ""


def _source_generation(manifest: dict) -> int:
    try:
        return int(manifest.get("source", {}).get("generation") or 0)
    except (AttributeError, TypeError, ValueError):
        return 0


class SplitRun:
    """One finalize event's handling; `run()` returns what happened, in one word."""

    def __init__(self, event: StorageObjectEvent, settings: Settings, store: gcs.GcsStore,
                 results: Results, clock: Clock):
        self.event = event
        self.settings = settings
        self.store = store
        self.records = RunRecords(store, records_bucket(settings))
        self.results = results
        self.clock = clock
        self.subject = ResultSubject(source=event.uri, source_generation=str(event.generation))
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
        facts, prior, existing = self._observe(export)
        action = decide(facts)
        if action is Action.ANNOUNCE_STORED:
            logs.info("already split: announcing the same result again", **self.log_fields)
            self._announce(prior)
            self._close_run(export, prior)
            return action.value
        if action is Action.SKIP_SUPERSEDED:
            logs.info("a newer generation of the export exists (its outputs, or the object), "
                      "or it was deleted: skipped", **self.log_fields)
            return action.value
        if action is Action.REFUSE_TOO_OLD:
            self._fail("event_too_old", f"the event is {facts.event_age_seconds:.0f} s old, over "
                       f"EVENT_MAX_AGE_SECONDS={settings.event_max_age_seconds:g}; "
                       "publish a retry")
            return action.value
        if action is Action.FAIL_PREFIX_TAKEN:
            self._fail("split_prefix_taken", f"gs://{settings.split_bucket}/"
                       f"{export.split_prefix} holds the split of another export, "
                       f"{_source_uri(prior)}; one folder holds one export: upload this one "
                       "to a folder of its own")
            return "failed"
        if action is Action.FAIL_BAD_RUN_RECORD:
            self._fail("bad_run_record", f"{self.record_problem}; the annotation type it holds "
                       "cannot be known: fix or delete the record, then upload the export again")
            return "failed"
        outcome, manifest = self._split(export, {name: gen for name, (gen, _) in
                                                 existing.items()})
        if manifest is not None:
            self._close_run(export, manifest)
        return outcome

    def _observe(self, export: ExportObject) -> tuple[SplitFacts, dict, dict]:
        event, settings = self.event, self.settings
        self.run_record, self.record_problem = self._read_run_record(export)
        self.record = self.run_record.record if self.run_record else {}
        vertex = self.record.get("dataset")
        self.subject = ResultSubject(
            run_id=export.run, source=event.uri, source_generation=str(event.generation),
            source_format=export.format or "",
            dataset=str(vertex or ""),
            annotated_dataset="" if vertex else str(
                self.record.get("annotatedDataset") or event.metadata.get(DATASET_METADATA_KEY)
                or export.fallback_dataset))
        prefix = export.split_prefix
        try:
            prior = self.store.read_json(settings.split_bucket, prefix + MANIFEST_NAME)
        except gcs.UnreadableObject as exc:
            logs.warning(f"the stored manifest is unreadable, splitting again: {exc}",
                         **self.log_fields)
            prior = None
        existing = self.store.output_generations(settings.split_bucket, prefix)
        age = (self.clock() - event.time).total_seconds() if event.time else 0.0
        facts = SplitFacts(
            generation=event.generation,
            live_generation=self.store.live_generation(event.bucket, event.name),
            stored_from=_source_generation(prior[0]) if prior else None,
            stored_for_another_source=bool(prior) and _source_uri(prior[0]) != event.uri,
            newest_output_from=max((_int(made) for _, made in existing.values()), default=0),
            event_age_seconds=age,
            max_age_seconds=settings.event_max_age_seconds,
            run_record_readable=self.record_problem is None,
        )
        return facts, prior[0] if prior else {}, existing

    def _read_run_record(self, export: ExportObject) -> tuple[StoredRun | None, str | None]:
        try:
            return self.records.load(export.run), None
        except gcs.UnreadableObject as exc:
            return None, f"the run record cannot be read: {exc}"

    def _split(self, export: ExportObject, expected: dict[str, int]) -> tuple[str, dict | None]:
        event, settings = self.event, self.settings
        annotation_type, type_source = self._annotation_type(self.record)
        outputs = gcs.GcsFolder(settings.split_bucket, export.split_prefix,
                                source_generation=str(event.generation),
                                expected_generations=expected)
        job = SplitJob(source_uri=event.uri, policy=settings.policy,
                       source_generation=str(event.generation), format=export.format,
                       annotation_type=annotation_type, annotation_type_source=type_source,
                       max_items=item_limit(settings.split_memory_mib))
        logs.info("splitting export", annotatedDataset=self.subject.annotated_dataset or None,
                  dataset=self.subject.dataset or None,
                  annotationType=annotation_type or "(inferred)", **self.log_fields)
        try:
            with gcs.storage_errors(event.uri), \
                    gcs.open_object(event.uri, generation=event.generation) as (stream, blob):
                # the export's own time, the same for every delivery: never the clock's
                job = replace(job, source_time=source_time(blob.time_created))
                if export.is_set:
                    manifest = self._split_set(stream, job, outputs)
                else:
                    manifest = split_export(stream, job, outputs)
        except gcs.ObjectGone as exc:
            if exc.what != event.uri:
                raise
            logs.info("the export generation disappeared while being read: skipped",
                      **self.log_fields)
            return Action.SKIP_SUPERSEDED.value, None
        except SourceError as exc:
            message = str(exc)
            if isinstance(exc, TooManyItems):
                message += (f", the most SPLIT_MEMORY_MIB={settings.split_memory_mib} holds; give "
                            "split_export more memory (Terraform: split_function.memory_mb) or "
                            f"split it on a bigger machine: labelexport split {event.uri}")
            manifest = self.results.report(exc.reason, message, self.subject,
                                           eventId=event.event_id)
            outputs.write_manifest(MANIFEST_NAME, render(manifest))
            logs.error(f"export cannot be split: {exc}", **self.log_fields)
        logs.info(f"split done: {manifest['status']}", rows=manifest.get("rows"),
                  **self.log_fields)
        self._announce(manifest)
        return manifest["status"], manifest

    def _split_set(self, stream, job: SplitJob, outputs: gcs.GcsFolder) -> dict:
        """The files an export set lists, split as one export, each at its listed generation."""
        export_set = export_sets.parse(stream.read(export_sets.MAX_SET_BYTES + 1),
                                       self.event.uri)
        if job.annotation_type is None and export_set.annotation_type is not None:
            job = replace(job, annotation_type=export_set.annotation_type,
                          annotation_type_source=export_set.annotation_type_source)
        job = replace(job, format=export_set.format)
        files = [SourceFile(f.uri, str(f.generation), partial(_pinned, f.uri, f.generation))
                 for f in export_set.files]
        return split_files(files, job, outputs, partial_failures=export_set.partial_failures)

    def _annotation_type(self, record: dict) -> tuple[str | None, str]:
        for value, origin in ((record.get("annotationType"), "run_record"),
                              (self.event.metadata.get(TYPE_METADATA_KEY), "object_metadata")):
            known = formats.find(value)
            if known is not None:
                return known.name, origin
        return None, "inferred"

    def _close_run(self, export: ExportObject, manifest: dict) -> None:
        """Mark the run done if its record still waits for the export (see closes_run)."""
        run = self.run_record
        for _ in range(CLOSE_RUN_ATTEMPTS):
            if run is None or not closes_run(run.state):
                return
            try:
                self.records.advance(run, state=DONE, updateTime=format_time(self.clock()),
                                     split={"sourceGeneration": str(self.event.generation),
                                            "status": manifest.get("status")})
            except gcs.ConcurrentWrite:
                run = self.records.load(export.run)
                continue
            logs.info("the export landed: run marked done", **self.log_fields)
            return
        raise gcs.ConcurrentWrite(f"{self.records.uri(export.run)} kept changing")

    def _fail(self, reason: str, message: str) -> None:
        self.results.fail(reason, message, self.subject, eventId=self.event.event_id)

    def _announce(self, manifest: dict) -> None:
        self.results.announce(manifest, self.subject)


def _int(value: object) -> int:
    try:
        return int(value or 0)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0
