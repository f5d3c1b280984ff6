"""export_labeled_data's work for one labeling-completion message: record the run, call
exportData into EXPORT_BUCKET, follow the operation, and record how it ended.

Every step is resumable: the run record says how far an earlier delivery got, so a redelivered
message continues (following the same operation) instead of starting a second export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from labelexport import logs
from labelexport.config import Settings
from labelexport.datalabeling import DataLabelingClient, export_extension, output_config_for
from labelexport.errors import LabelExportError, PermanentError, TransientError
from labelexport.events import PubSubMessageEvent, parse_time
from labelexport.export_paths import export_prefix
from labelexport.gcs import GcsStore
from labelexport.messages import BadMessage, ExportRequest, parse_completion_message
from labelexport.results import failure_report, result_attributes
from labelexport.run_records import (
    DONE,
    EXPORTING,
    FAILED,
    REQUESTED,
    RunRecords,
    StoredRun,
    run_id_for,
)

Publish = Callable[[str, dict, dict[str, str]], object]

# How long the delivery that claims a run's start holds it; another delivery may take over
# only after that (the first one crashed before it could record the export's operation).
START_LEASE_SECONDS = 120


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class ExportRun:
    def __init__(self, event: PubSubMessageEvent, settings: Settings, store: GcsStore,
                 client: DataLabelingClient, publish: Publish, now: datetime):
        self.event = event
        self.settings = settings
        self.records = RunRecords(store, settings.export_bucket)
        self.client = client
        self.publish = publish
        self.now = now
        self.log_fields: dict = {"messageId": event.message_id}

    def run(self) -> str:
        """What happened, in one word: exported, failed, duplicate, too_old."""
        try:
            request = parse_completion_message(self.event.data, self.event.attributes)
        except BadMessage as exc:
            return self._refuse(exc.reason, str(exc))
        name = str(request.annotated_dataset)
        run_id = run_id_for(name, request.request_id or self.event.message_id)
        self.log_fields.update(annotatedDataset=name, runId=run_id)
        run = self.records.load(run_id)
        if run is None:
            age = (self.now - self.event.publish_time).total_seconds() \
                if self.event.publish_time else 0.0
            if age > self.settings.event_max_age_seconds:
                return self._refuse("event_too_old", f"the message is {age:.0f} s old, over "
                                    f"EVENT_MAX_AGE_SECONDS="
                                    f"{self.settings.event_max_age_seconds:g}; publish a retry")
            try:
                run = self._start(request, run_id)
            except PermanentError as exc:
                return self._refuse("annotated_dataset_unavailable", str(exc))
        else:
            logs.info(f"run already {run.state}: continuing", **self.log_fields)
        return self._continue(run)

    def _start(self, request: ExportRequest, run_id: str) -> StoredRun:
        dataset = self.client.get_annotated_dataset(str(request.annotated_dataset))
        annotation_type = dataset.get("annotationType") or ""
        fmt = export_extension(annotation_type,
                               request.format or self.settings.export_format)
        parsed = request.annotated_dataset
        prefix = export_prefix(parsed.dataset, parsed.annotated_dataset, run_id)
        record = {
            "runId": run_id,
            "state": REQUESTED,
            "annotatedDataset": str(parsed),
            "annotationType": annotation_type,
            "format": fmt,
            "filter": request.filter,
            "requestId": request.request_id,
            "messageId": self.event.message_id,
            "exportPrefix": f"gs://{self.settings.export_bucket}/{prefix}",
            "outputConfig": output_config_for(annotation_type, fmt,
                                              self.settings.export_bucket, prefix),
            "createTime": _timestamp(self.now),
            "updateTime": _timestamp(self.now),
            "startLeaseUntil": self._lease_end(),
        }
        logs.info("run recorded", annotationType=annotation_type, format=fmt, **self.log_fields)
        return self.records.create(record)

    def _continue(self, run: StoredRun) -> str:
        if run.state == REQUESTED:
            run = self._claim_start(run)
            try:
                operation = self.client.export_data(run.record["annotatedDataset"],
                                                    run.record["outputConfig"],
                                                    run.record.get("filter") or "")
            except PermanentError as exc:
                return self._fail(run, "export_refused", str(exc))
            except TransientError:
                self._release_start(run)
                raise
            run = self.records.advance(run, state=EXPORTING, operation=operation["name"],
                                       updateTime=_timestamp(self.now))
            logs.info("export started", operation=operation["name"], **self.log_fields)
        if run.state == EXPORTING:
            operation = self.client.wait_for_operation(run.record["operation"],
                                                       self.settings.operation_wait_seconds)
            if operation.get("error"):
                error = operation["error"]
                return self._fail(run, "export_failed",
                                  f"operation {operation['name']} ended in error "
                                  f"{error.get('code')}: {error.get('message')}")
            response = operation.get("response") or {}
            self.records.advance(run, state=DONE, updateTime=_timestamp(self.now), result={
                k: response.get(k) for k in ("totalCount", "exportCount", "labelStats")})
            logs.info("export done", exportCount=response.get("exportCount"),
                      **self.log_fields)
            return "exported"
        if run.state == FAILED:
            self._announce(run.record["failure"])  # the same result as the first time
        return "duplicate"

    def _lease_end(self) -> str:
        return _timestamp(self.now + timedelta(seconds=START_LEASE_SECONDS))

    def _claim_start(self, run: StoredRun) -> StoredRun:
        """Only one delivery at a time calls exportData: the one that created the record, or
        one that wins a generation-matched claim once no other holds the start lease."""
        if run.created_here:
            return run
        lease = parse_time(run.record.get("startLeaseUntil"))
        if lease and lease > self.now:
            raise TransientError(f"run {run.record['runId']} is being started by another "
                                 "delivery; retry to follow it")
        return self.records.advance(run, startLeaseUntil=self._lease_end(),
                                    updateTime=_timestamp(self.now))

    def _release_start(self, run: StoredRun) -> None:
        """After a transient failure, let the redelivery start at once (best effort: the
        lease ends by itself anyway)."""
        try:
            self.records.advance(run, startLeaseUntil=None, updateTime=_timestamp(self.now))
        except LabelExportError:
            pass

    def _fail(self, run: StoredRun, reason: str, message: str) -> str:
        report = self._report(reason, message, run.record.get("requestId"))
        self.records.advance(run, state=FAILED, failure=report, updateTime=_timestamp(self.now))
        logs.error(message, reason=reason, **self.log_fields)
        self._announce(report)
        return "failed"

    def _refuse(self, reason: str, message: str) -> str:
        logs.error(f"message refused: {message}", reason=reason, **self.log_fields)
        self._announce(self._report(reason, message, None))
        return "failed"

    def _report(self, reason: str, message: str, request_id: str | None) -> dict:
        return failure_report("export", reason, message,
                              annotatedDataset=self.log_fields.get("annotatedDataset"),
                              runId=self.log_fields.get("runId"), requestId=request_id,
                              messageId=self.event.message_id)

    def _announce(self, report: dict) -> None:
        self.publish(self.settings.results_topic, report, result_attributes(
            status="failed", annotated_dataset=report.get("annotatedDataset", ""),
            run_id=report.get("runId", "")))
