"""The manifest of a split run (README "Contracts"): counts, files, warnings, policy and status."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from labelexport import formats
from labelexport.config import SplitPolicy
from labelexport.ml_use import SPLITS
from labelexport.router import Counts
from labelexport.split_warnings import TRAINING_SPLITS, SplitCount, split_warnings

MANIFEST_NAME = "manifest.json"
REJECTED_NAME = "rejected.jsonl"
REPORT_NAME = "report.html"


@dataclass(frozen=True)
class Source:
    uri: str
    generation: str | None
    format: str
    annotation_type: str
    annotation_type_source: str  # "option", "run_record", "object_metadata" or "inferred"
    time: str | None = None  # when the export was written (RFC 3339), never when it was split
    files: tuple[dict, ...] = ()  # an export of several files: each {uri, generation, rows}
    partial_failures: tuple[dict, ...] = ()  # what the export said it could not export


def source_time(moment: datetime | None) -> str | None:
    """Source.time of an export written at `moment`: RFC 3339 in UTC, to the microsecond."""
    if moment is None:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def split_names(policy: SplitPolicy) -> tuple[str, ...]:
    """The split files a policy writes: `keep` adds unassigned."""
    return SPLITS if policy.unassigned == "keep" else SPLITS[:3]


def status_of(read: int, rejected: int, max_reject_fraction: float) -> str:
    return "rejected" if read and rejected / read > max_reject_fraction else "ok"


def _file(uri: str, size: int | None, counts: dict) -> dict:
    return {"uri": uri, **counts} | ({} if size is None else {"bytes": size})


def build_manifest(source: Source, counts: Counts, policy: SplitPolicy, uris: dict[str, str],
                   sizes: Mapping[str, int | None] | None = None,
                   report_uri: str | None = None) -> dict:
    """`uris` and `sizes` (bytes, None where unknown) by split name and REJECTED_NAME."""
    sizes = sizes or {}
    rejected = sum(counts.rejected.values())
    written = sum(counts.rows)
    read = written + rejected
    splits = {}
    for index, name in enumerate(SPLITS):
        if name in uris:
            splits[name] = _file(uris[name], sizes.get(name), {
                "rows": counts.rows[index],
                "items": counts.items[index],
                "labels": dict(sorted(counts.labels[index].items())),
            })
    known = formats.find(source.annotation_type)
    expected = TRAINING_SPLITS if known is None or known.has_validation_split \
        else ("train", "test")
    warnings = split_warnings(
        {name: SplitCount(split["items"], split["labels"]) for name, split in splits.items()},
        policy, expected)
    manifest = {
        "status": status_of(read, rejected, policy.max_reject_fraction),
        "source": {
            "uri": source.uri,
            "generation": source.generation,
            "time": source.time,
            "format": source.format,
            "annotationType": source.annotation_type,
            "annotationTypeSource": source.annotation_type_source,
            **({"files": [dict(f) for f in source.files]} if source.files else {}),
            **({"partialFailures": list(source.partial_failures)}
               if source.partial_failures else {}),
        },
        "rows": {"read": read, "written": written, "rejected": rejected},
        "splits": splits,
        "rejected": _file(uris[REJECTED_NAME], sizes.get(REJECTED_NAME), {
            "rows": rejected,
            "reasons": dict(sorted(counts.rejected.items())),
            "first": list(counts.first_rejected),
        }),
        "warnings": warnings,
    }
    if report_uri is not None:
        manifest["report"] = {"uri": report_uri}
    manifest["policy"] = {
        "unassigned": policy.unassigned,
        "ratios": list(policy.ratios),
        "maxRejectFraction": policy.max_reject_fraction,
        "minItemsPerLabel": policy.min_items_per_label,
    }
    return manifest


def render(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
