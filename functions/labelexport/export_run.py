"""export_labeled_data's work for one labeling-completion message: record the run, start the
export into EXPORT_BUCKET (Data Labeling exportData, or Vertex AI datasets.export), follow the
operation, write the export set of a multi-file export, and record how it ended.

Every step is resumable: the run record says how far an earlier delivery got, so a redelivered
message continues (following the same operation) instead of starting a second export. What to
do next is `export_decision.decide`'s; this module observes and acts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from labelexport import export_sets, formats, gcs, logs
from labelexport.config import Settings
from labelexport.errors import LabelExportError, PermanentError, TransientError
from labelexport.events import PubSubMessageEvent, format_time, parse_time
from labelexport.export_backends import Backend, landed_uri_prefix, set_uri
from labelexport.export_decision import (
    DONE,
    EXPORTING,
    FAILED,
    REQUESTED,
    Action,
    ExportFacts,
    Followed,
    RunView,
    decide,
    export_certainly_not_started,
)
from labelexport.export_sets import ExportSet
from labelexport.gcs import ConcurrentWrite, GcsStore, UnreadableObject
from labelexport.google_rest import OperationStillRunning
from labelexport.messages import BadMessage, ExportRequest, parse_completion_message
from labelexport.results import Results, ResultSubject
from labelexport.run_records import RunRecords, StoredRun, records_bucket, run_id_for

Clock = Callable[[], datetime]

# How long the delivery that claims a run's start holds it; another delivery may take over
# only after that (the first one crashed before it could record the export's operation).
START_LEASE_SECONDS = 120
HOLDER_POLL_SECONDS = 2.0  # how often a delivery waiting for the holder reads the record
MAX_STEPS = 500  # a bound on observe-decide-act rounds (each acts or waits at least 1 s)



@dataclass
class _Observed:
    """What this delivery has seen so far (the facts the decision is asked with)."""

    run: StoredRun | None
    held_generation: int | None = None  # the record generation at which this delivery holds
    landed: bool | None = None
    followed: Followed | None = None
    operation: dict | None = None  # as the last poll returned it
    why_lost: str = ""
    waited: bool = False  # for another delivery's hold (said once in the log)


class ExportRun:
    def __init__(self, event: PubSubMessageEvent, settings: Settings, store: GcsStore,
                 backends: dict[str, Backend], results: Results, clock: Clock,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic):
        self.event = event
        self.settings = settings
        self.store = store
        self.records = RunRecords(store, records_bucket(settings))
        self.backends = backends
        self.results = results
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic
        self.subject = ResultSubject()
        self.request_id: str | None = None
        self.log_fields: dict = {"messageId": event.message_id}

    def run(self) -> str:
        """What happened, in one word: exported, failed, duplicate."""
        try:
            request = parse_completion_message(self.event.data, self.event.attributes)
        except BadMessage as exc:
            return self._refuse(exc.reason, str(exc))
        name = request.name
        run_id = run_id_for(name, request.request_id or self.event.message_id)
        vertex = request.backend == formats.VERTEX
        self.subject = ResultSubject(run_id=run_id, dataset=name if vertex else "",
                                     annotated_dataset="" if vertex else name)
        self.request_id = request.request_id
        self.backend = self.backends[request.backend]
        self.log_fields.update(runId=run_id, **{"dataset" if vertex else "annotatedDataset":
                                                name})
        try:
            return self._drive(request, run_id)
        except UnreadableObject as exc:
            return self._refuse("bad_run_record", f"the run record cannot be read: {exc}; "
                                "delete it and publish the message again")

    # ------------------------------------------------------------------ observe, decide, act

    def _drive(self, request: ExportRequest, run_id: str) -> str:
        deadline = self.monotonic() + self.settings.operation_wait_seconds
        seen = _Observed(self.records.load(run_id))
        if seen.run is not None:
            logs.info(f"run already {seen.run.state}: continuing", **self.log_fields)
        for _ in range(MAX_STEPS):
            action = decide(self._facts(seen, deadline))
            try:
                outcome = self._act(action, seen, request, run_id, deadline)
            except ConcurrentWrite:
                logs.info("the run record changed meanwhile: reading it again",
                          action=action.value, **self.log_fields)
                seen.run, seen.landed = self.records.load(run_id), None
                continue
            if outcome is not None:
                return outcome
        raise TransientError(f"run {run_id} did not settle in {MAX_STEPS} steps")

    def _facts(self, seen: _Observed, deadline: float) -> ExportFacts:
        now = self.clock()
        published = self.event.publish_time
        return ExportFacts(
            run=None if seen.run is None else _view(seen.run, seen.held_generation),
            now=now,
            message_age_seconds=(now - published).total_seconds() if published else 0.0,
            max_age_seconds=self.settings.event_max_age_seconds,
            time_left_seconds=deadline - self.monotonic(),
            landed=seen.landed,
            followed=seen.followed,
        )

    def _act(self, action: Action, seen: _Observed, request: ExportRequest, run_id: str,
             deadline: float) -> str | None:
        """Do what `action` says; a word ends the delivery, None asks the decision again."""
        if action is Action.REFUSE_TOO_OLD:
            age = (self.clock() - self.event.publish_time).total_seconds()
            return self._refuse("event_too_old", f"the message is {age:.0f} s old, over "
                                f"EVENT_MAX_AGE_SECONDS={self.settings.event_max_age_seconds:g}"
                                "; publish a retry")
        if action is Action.CREATE_RUN:
            return self._create(seen, request, run_id)
        if action is Action.WAIT_FOR_HOLDER:
            self._wait_for_holder(seen, run_id, deadline)
        elif action is Action.LOOK_AT_DESTINATION:
            seen.landed = self._landed(seen.run)
        elif action is Action.CLAIM_START:
            seen.run = self.records.advance(seen.run, startLeaseUntil=self._lease_end(),
                                            updateTime=self._now())
            seen.held_generation = seen.run.generation
            logs.info("took over the run's start: nothing had landed at its destination",
                      **self.log_fields)
        elif action is Action.START_EXPORT:
            return self._start_export(seen)
        elif action is Action.FOLLOW_OPERATION:
            self._follow(seen, deadline)
        elif action is Action.MARK_DONE:
            return self._mark_done(seen)
        elif action is Action.ADOPT_EXPORT:
            seen.run = self.records.advance(seen.run, state=DONE, updateTime=self._now(),
                                            adopted="the export had landed at the destination")
            logs.info("the export had landed at the run's destination: run done, not exported "
                      "again", **self.log_fields)
            return "exported"
        elif action is Action.FAIL_OPERATION_ERROR:
            operation = seen.operation or {}
            error = operation.get("error") or {}
            return self._fail(seen.run, "export_failed",
                              f"operation {operation.get('name')} ended in error "
                              f"{error.get('code')}: {error.get('message')}")
        elif action is Action.FAIL_OPERATION_LOST:
            return self._fail(seen.run, "operation_unavailable",
                              f"{seen.why_lost}; and nothing landed under "
                              f"{seen.run.record.get('exportPrefix')}; publish a retry")
        elif action is Action.REPEAT_FAILURE:
            logs.info("the run failed before: announcing the same result again",
                      **self.log_fields)
            self.results.announce(seen.run.record.get("failure") or self.results.report(
                "export_failed", "the run failed", self.subject), self.subject)
            return "duplicate"
        elif action is Action.NOTHING:
            return "duplicate"
        elif action is Action.RETRY_LATER:
            raise TransientError(self._why_retry(seen))
        elif action is Action.BAD_RECORD:
            return self._refuse("bad_run_record", f"the run record "
                                f"{self.records.uri(run_id)} has state "
                                f"{seen.run.state!r} (or no operation); delete it and publish "
                                "the message again")
        return None

    # ------------------------------------------------------------------ the acts

    def _create(self, seen: _Observed, request: ExportRequest, run_id: str) -> str | None:
        try:
            planned = self.backend.plan(request, run_id)
        except PermanentError as exc:
            unavailable = "dataset_unavailable" if request.backend == formats.VERTEX \
                else "annotated_dataset_unavailable"
            return self._refuse(unavailable, str(exc))
        now = self._now()
        created = self.records.create({
            "runId": run_id,
            "state": REQUESTED,
            **planned,
            "requestId": request.request_id,
            "messageId": self.event.message_id,
            "createTime": now,
            "updateTime": now,
            "startLeaseUntil": self._lease_end(),
        })
        if created is None:
            logs.info("another delivery created the run first: following it",
                      **self.log_fields)
            seen.run = self.records.load(run_id)
            if seen.run is None:
                raise TransientError(f"run {run_id} was created and is gone: retry")
            return None
        logs.info("run recorded", annotationType=planned.get("annotationType"),
                  format=planned.get("format"), **self.log_fields)
        seen.run, seen.held_generation = created, created.generation
        return None

    def _wait_for_holder(self, seen: _Observed, run_id: str, deadline: float) -> None:
        held_until = parse_time(seen.run.record.get("startLeaseUntil"))
        lease_left = (held_until - self.clock()).total_seconds() if held_until else 0.0
        pause = max(0.05, min(HOLDER_POLL_SECONDS, lease_left, deadline - self.monotonic()))
        if not seen.waited:
            logs.info("another delivery holds the run's start: waiting for it",
                      heldUntil=seen.run.record.get("startLeaseUntil"), **self.log_fields)
            seen.waited = True
        self.sleep(pause)
        seen.run = self.records.load(run_id)

    def _landed(self, run: StoredRun) -> bool:
        where, one_object = landed_uri_prefix(run.record)
        bucket, name = gcs.parse_uri(where)
        if not name:
            return False
        if one_object:
            return self.store.live_generation(bucket, name) is not None
        return self.store.has_objects(bucket, name)

    def _mark_done(self, seen: _Observed) -> str:
        """Record a done export: first its export set, if it wrote several files (the set's
        finalize event makes split_export split them), then the run's outcome."""
        run = seen.run
        try:
            outcome = self.backend.outcome(run.record, seen.operation or {})
        except PermanentError as exc:
            return self._fail(run, "export_failed", str(exc))
        if outcome.files is not None:
            export_set = ExportSet(
                run_id=run.record["runId"], backend=self.backend.family,
                dataset=str(run.record.get("dataset") or run.record.get("annotatedDataset")),
                annotation_type=outcome.annotation_type, format=run.record["format"],
                files=outcome.files,
                annotation_type_source=outcome.annotation_type_source or "export_set",
                partial_failures=tuple(outcome.result.get("partialFailures") or ()))
            where = set_uri(run.record)
            if self.store.create(where, export_sets.render(export_set),
                                 "application/json") is None:
                logs.info("the export set was written before: kept", exportSet=where,
                          **self.log_fields)
            else:
                logs.info("export set written", exportSet=where, files=len(outcome.files),
                          **self.log_fields)
        seen.run = self.records.advance(run, state=DONE, updateTime=self._now(),
                                        result=outcome.result)
        logs.info("export done", result=outcome.result, **self.log_fields)
        return "exported"

    def _start_export(self, seen: _Observed) -> str | None:
        run = seen.run
        try:
            operation = self.backend.start(run.record)
        except PermanentError as exc:
            return self._fail(run, "export_refused", str(exc))
        except TransientError as exc:
            if export_certainly_not_started(getattr(exc, "http_status", None)):
                self._release_start(run)
            raise
        logs.info("export started", operation=operation["name"], **self.log_fields)
        try:
            seen.run = self.records.advance(run, state=EXPORTING, operation=operation["name"],
                                            updateTime=self._now())
        except ConcurrentWrite:  # keep the operation unless the run has moved on meanwhile
            current = self.records.load(run.record["runId"])
            if current is None or current.state != REQUESTED:
                seen.run = current
                return None
            seen.run = self.records.advance(current, state=EXPORTING,
                                            operation=operation["name"], updateTime=self._now())
        seen.held_generation = None
        return None

    def _follow(self, seen: _Observed, deadline: float) -> None:
        name = seen.run.record["operation"]
        try:
            seen.operation = self.backend.wait(name, max(1.0, deadline - self.monotonic()))
        except OperationStillRunning as exc:
            seen.followed, seen.why_lost = Followed.RUNNING, str(exc)
            return
        except PermanentError as exc:
            seen.followed, seen.why_lost = Followed.LOST, str(exc)
            return
        seen.followed = Followed.ERROR if seen.operation.get("error") else Followed.DONE

    def _why_retry(self, seen: _Observed) -> str:
        if seen.followed is Followed.RUNNING:
            return f"{seen.why_lost}; the redelivery follows it on"
        return (f"run {self.subject.run_id} is being started by another delivery; retry to "
                "follow it")

    # ------------------------------------------------------------------ records and results

    def _now(self) -> str:
        return format_time(self.clock())

    def _lease_end(self) -> str:
        return format_time(self.clock() + timedelta(seconds=START_LEASE_SECONDS))

    def _release_start(self, run: StoredRun) -> None:
        """After the export certainly did not start, let the redelivery start at once (best
        effort: the hold ends by itself anyway)."""
        try:
            self.records.advance(run, startLeaseUntil=None, updateTime=self._now())
        except LabelExportError:
            pass

    def _context(self) -> dict:
        return {"requestId": self.request_id, "messageId": self.event.message_id}

    def _fail(self, run: StoredRun, reason: str, message: str) -> str:
        report = self.results.report(reason, message, self.subject, **self._context())
        self.records.advance(run, state=FAILED, failure=report, updateTime=self._now())
        self.results.announce_failure(report, self.subject)
        return "failed"

    def _refuse(self, reason: str, message: str) -> str:
        """A failure with no run to record it in."""
        self.results.fail(reason, message, self.subject, **self._context())
        return "failed"


def _view(run: StoredRun, held_generation: int | None) -> RunView:
    return RunView(state=run.state, held_here=held_generation == run.generation,
                   start_held_until=parse_time(run.record.get("startLeaseUntil")),
                   has_operation=bool(run.record.get("operation")),
                   has_result="result" in run.record)
