"""The manifest of a split run (DESIGN.md "Split output"): counts, files, policy and status."""

from __future__ import annotations

import json
from dataclasses import dataclass

from labelexport.config import SplitPolicy
from labelexport.ml_use import SPLITS
from labelexport.router import Counts

MANIFEST_NAME = "manifest.json"
REJECTED_NAME = "rejected.jsonl"


@dataclass(frozen=True)
class Source:
    uri: str
    generation: str | None
    format: str
    annotation_type: str
    annotation_type_source: str  # "option", "run_record", "object_metadata" or "inferred"


def split_names(policy: SplitPolicy) -> tuple[str, ...]:
    """The split files a policy writes: `keep` adds unassigned."""
    return SPLITS if policy.unassigned == "keep" else SPLITS[:3]


def status_of(read: int, rejected: int, max_reject_fraction: float) -> str:
    return "rejected" if read and rejected / read > max_reject_fraction else "ok"


def build_manifest(source: Source, counts: Counts, policy: SplitPolicy,
                   uris: dict[str, str]) -> dict:
    rejected = sum(counts.rejected.values())
    written = sum(counts.rows)
    read = written + rejected
    splits = {}
    for index, name in enumerate(SPLITS):
        if name in uris:
            splits[name] = {
                "uri": uris[name],
                "rows": counts.rows[index],
                "items": counts.items[index],
                "labels": dict(sorted(counts.labels[index].items())),
            }
    return {
        "status": status_of(read, rejected, policy.max_reject_fraction),
        "source": {
            "uri": source.uri,
            "generation": source.generation,
            "format": source.format,
            "annotationType": source.annotation_type,
            "annotationTypeSource": source.annotation_type_source,
        },
        "rows": {"read": read, "written": written, "rejected": rejected},
        "splits": splits,
        "rejected": {
            "uri": uris[REJECTED_NAME],
            "rows": rejected,
            "reasons": dict(sorted(counts.rejected.items())),
        },
        "policy": {
            "unassigned": policy.unassigned,
            "ratios": list(policy.ratios),
            "maxRejectFraction": policy.max_reject_fraction,
        },
    }


def render(manifest: dict) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
