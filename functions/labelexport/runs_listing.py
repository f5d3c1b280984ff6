"""`labelexport runs`: what happened to recent exports, from their run records
(`runs/<run>.json` in SPLIT_BUCKET) and the manifests of their splits (in SPLIT_BUCKET too).

For the person who published a completion message and wants to know how it went without
subscribing to the results topic. Reading and summing up are apart: the summaries and the text
are pure functions of a record and its manifest.
"""

from __future__ import annotations

from dataclasses import dataclass

from labelexport.export_paths import RUNS_PREFIX, run_record_name, split_prefix_of
from labelexport.gcs import GcsStore
from labelexport.manifest import MANIFEST_NAME
from labelexport.split_warnings import describe

SHOWN_WARNINGS = 20
SHOWN_REJECTED = 5


@dataclass(frozen=True)
class Run:
    record: dict
    manifest: dict | None  # None: not split (yet), or no split bucket to look in
    manifest_uri: str | None


def manifest_uri(record: dict, split_bucket: str | None) -> str | None:
    prefix = split_prefix_of(record.get("exportPrefix") or "")
    if not split_bucket or prefix is None:
        return None
    return f"gs://{split_bucket}/{prefix}{MANIFEST_NAME}"


def _read(store: GcsStore, uri: str | None) -> dict | None:
    if uri is None:
        return None
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    found = store.read_json(bucket, name)
    return found[0] if found else None


def load_run(store: GcsStore, bucket: str, split_bucket: str | None, run_id: str) -> Run | None:
    if not run_id or "/" in run_id:
        return None
    found = store.read_json(bucket, run_record_name(run_id))
    if found is None:
        return None
    uri = manifest_uri(found[0], split_bucket)
    return Run(found[0], _read(store, uri), uri)


def recent_runs(store: GcsStore, bucket: str, split_bucket: str | None, limit: int) -> list[Run]:
    """The `limit` runs whose records were written last, newest first."""
    records = [(name, updated) for name, updated in store.list_updated(bucket, RUNS_PREFIX)
               if name.endswith(".json") and "/" not in name[len(RUNS_PREFIX):]]
    records.sort(key=lambda found: (found[1].timestamp() if found[1] else 0, found[0]),
                 reverse=True)
    runs = []
    for name, _ in records[:limit]:
        run_id = name[len(RUNS_PREFIX):-len(".json")]
        run = load_run(store, bucket, split_bucket, run_id)
        if run is not None:  # deleted since it was listed
            runs.append(run)
    return runs


# ------------------------------------------------------------------ summing up (pure)


def status_of(run: Run) -> str:
    """ok | rejected | failed as the results topic said it; else where the run is."""
    record, manifest = run.record, run.manifest
    if manifest is not None:
        return manifest.get("status", "?")
    if record.get("state") == "failed":
        return "failed"
    if record.get("state") == "done":
        return "not split" if run.manifest_uri else "-"
    return "pending"


def summary(run: Run) -> dict:
    """One run as a row: run id, dataset, state, status, rows, when, report."""
    record, manifest = run.record, run.manifest or {}
    rows = manifest.get("rows")
    return {
        "runId": record.get("runId", ""),
        "dataset": record.get("annotatedDataset") or record.get("dataset") or "",
        "state": record.get("state", ""),
        "status": status_of(run),
        "rows": f"{rows['read']:,} read, {rows['rejected']:,} rejected" if rows else "",
        "when": record.get("updateTime") or record.get("createTime") or "",
        "report": (manifest.get("report") or {}).get("uri", ""),
    }


def _short_dataset(name: str) -> str:
    """projects/P/datasets/D/annotatedDatasets/A -> D/A (the project is the same for all)."""
    parts = name.split("/")
    if len(parts) == 6 and parts[0] == "projects":
        return f"{parts[3]}/{parts[5]}"
    return name


def table(runs: list[Run]) -> str:
    heads = ["RUN", "DATASET", "STATE", "STATUS", "ROWS", "WHEN", "REPORT"]
    rows = [heads]
    for run in runs:
        row = summary(run)
        rows.append([row["runId"], _short_dataset(row["dataset"]), row["state"], row["status"],
                     row["rows"], row["when"].replace("T", " ").removesuffix("Z"),
                     row["report"]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(heads))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                          strict=True)).rstrip()
                     for row in rows)


def details(run: Run) -> str:
    """One run in full: its record, its operation, and its split's manifest summed up."""
    record, manifest = run.record, run.manifest
    lines = [f"run {record.get('runId', '')}: {record.get('state', '')}, status {status_of(run)}"]
    for key in ("annotatedDataset", "annotationType", "format", "filter", "requestId",
                "messageId", "exportPrefix", "createTime", "updateTime", "operation"):
        if record.get(key):
            lines.append(f"  {key + ':':<17} {record[key]}")
    result = record.get("result") or {}
    if result:
        counts = ", ".join(f"{k} {v}" for k, v in result.items()
                           if v is not None and k != "labelStats")
        lines.append(f"  {'export result:':<17} {counts}")
    failure = (record.get("failure") or {}).get("error")
    if failure:
        lines.append(f"  {'failed:':<17} {failure.get('reason')}: {failure.get('message')}")
    if manifest is None:
        lines.append(f"split: no manifest at {run.manifest_uri}" if run.manifest_uri
                     else "split: pass --split-bucket (or set SPLIT_BUCKET) to see it")
        return "\n".join(lines)
    lines.append(f"split: {manifest.get('status')}  ({run.manifest_uri})")
    error = manifest.get("error")
    if error:
        lines.append(f"  failed: {error.get('reason')}: {error.get('message')}")
        return "\n".join(lines)
    rows = manifest["rows"]
    lines.append(f"  rows: {rows['read']:,} read, {rows['written']:,} written, "
                 f"{rows['rejected']:,} rejected")
    for name, split in manifest.get("splits", {}).items():
        lines.append(f"  {name:<11}{split['rows']:>10,} rows {split['items']:>9,} items  "
                     f"{split['uri']}")
    rejected = manifest["rejected"]
    reasons = ", ".join(f"{k} {v:,}" for k, v in rejected["reasons"].items()) or "none"
    lines.append(f"  {'rejected':<11}{rejected['rows']:>10,} rows ({reasons})  {rejected['uri']}")
    for row in rejected.get("first", [])[:SHOWN_REJECTED]:
        lines.append(f"    line {row['line']}: {row['reason']}: {' '.join(row['detail'].split())}")
    warnings = manifest.get("warnings", [])
    lines.append(f"  warnings: {len(warnings)}")
    for warning in warnings[:SHOWN_WARNINGS]:
        lines.append(f"    {warning['code']}: {describe(warning)}")
    if len(warnings) > SHOWN_WARNINGS:
        lines.append(f"    ... and {len(warnings) - SHOWN_WARNINGS} more in the manifest")
    report = (manifest.get("report") or {}).get("uri")
    if report:
        lines.append(f"  report: {report}")
    return "\n".join(lines)
