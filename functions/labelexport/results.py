"""The result messages on RESULTS_TOPIC: data = the manifest or a failure report; attributes
that let a consumer filter and de-duplicate."""

from __future__ import annotations


def result_attributes(*, status: str, annotated_dataset: str = "", run_id: str = "",
                      source: str = "", source_generation: str = "") -> dict[str, str]:
    return {"status": status, "annotatedDataset": annotated_dataset, "runId": run_id,
            "source": source, "sourceGeneration": source_generation}


def failure_report(stage: str, reason: str, message: str, **context: object) -> dict:
    """The data of a `failed` result: which function gave up, why, and on what."""
    report: dict = {"status": "failed", "stage": stage,
                    "error": {"reason": reason, "message": message}}
    report.update((k, v) for k, v in context.items() if v not in (None, ""))
    return report
