"""The result messages on RESULTS_TOPIC: data = the manifest or a failure report; attributes
that let a consumer filter and de-duplicate. Both functions report a failure in one shape:

    {"status": "failed", "stage": "export" | "split",
     "error": {"reason": "<stable code>", "message": "<what happened and what to do>"},
     "runId", "annotatedDataset" | "dataset", "source": {"uri", "generation", "format"},
     "eventId", "messageId", "requestId"}            (each of these only when known)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from labelexport import logs
from labelexport.errors import PermanentError
from labelexport.excerpts import clip, clip_utf8

ATTRIBUTE_VALUE_BYTES = 1024  # Pub/Sub refuses longer attribute values
FAILURE_FIELDS = ("status", "stage", "error", "runId", "annotatedDataset", "dataset", "source",
                  "eventId", "messageId", "requestId")

Publish = Callable[[str, dict, dict[str, str]], object]


@dataclass(frozen=True)
class ResultSubject:
    """What a result is about; every result carries these as attributes."""

    run_id: str = ""
    annotated_dataset: str = ""  # a Data Labeling run's
    dataset: str = ""  # a Vertex AI run's
    source: str = ""
    source_generation: str = ""
    source_format: str = ""

    def attributes(self, status: str) -> dict[str, str]:
        return result_attributes(status=status, annotated_dataset=self.annotated_dataset,
                                 dataset=self.dataset, run_id=self.run_id, source=self.source,
                                 source_generation=self.source_generation)


def result_attributes(*, status: str, annotated_dataset: str = "", dataset: str = "",
                      run_id: str = "", source: str = "",
                      source_generation: str = "") -> dict[str, str]:
    values = {"status": status, "annotatedDataset": annotated_dataset, "runId": run_id,
              "source": source, "sourceGeneration": source_generation}
    if dataset:
        values["dataset"] = dataset
    return {k: clip_utf8(v, ATTRIBUTE_VALUE_BYTES) for k, v in values.items()}


def failure_report(stage: str, reason: str, message: str, subject: ResultSubject | None = None,
                   **context: object) -> dict:
    """The data of a `failed` result: which function gave up, why, and on what."""
    subject = subject or ResultSubject()
    report: dict = {"status": "failed", "stage": stage,
                    "error": {"reason": reason, "message": clip(message)},
                    "runId": subject.run_id, "annotatedDataset": subject.annotated_dataset,
                    "dataset": subject.dataset}
    if subject.source:
        report["source"] = {"uri": subject.source, "generation": subject.source_generation,
                            "format": subject.source_format}
    report.update(context)
    return {k: v for k, v in report.items() if v not in (None, "")}


class Results:
    """Announces one function's results; a failure is logged and announced in one shape."""

    def __init__(self, publish: Publish, topic: str, stage: str):
        self.publish = publish
        self.topic = topic
        self.stage = stage

    def announce(self, data: dict, subject: ResultSubject) -> None:
        try:
            self.publish(self.topic, data, subject.attributes(data["status"]))
        except PermanentError as exc:  # too large, or refused: say so in a small result
            logs.error(f"result could not be published: {exc}", runId=subject.run_id)
            self.publish(self.topic, failure_report(
                self.stage, "result_unpublishable",
                f"the {data['status']} result could not be published: {exc}", subject),
                subject.attributes("failed"))

    def report(self, reason: str, message: str, subject: ResultSubject,
               **context: object) -> dict:
        """This function's failure report (not announced yet)."""
        return failure_report(self.stage, reason, message, subject, **context)

    def announce_failure(self, report: dict, subject: ResultSubject) -> None:
        logs.error(report["error"]["message"], reason=report["error"]["reason"],
                   stage=self.stage, runId=subject.run_id or None,
                   annotatedDataset=subject.annotated_dataset or None,
                   source=subject.source or None)
        self.announce(report, subject)

    def fail(self, reason: str, message: str, subject: ResultSubject, **context: object) -> dict:
        """Log and announce a failure; returns the report."""
        report = self.report(reason, message, subject, **context)
        self.announce_failure(report, subject)
        return report
