"""The object layout of DESIGN.md: where exports, run records and split outputs live."""

from __future__ import annotations

import re
from dataclasses import dataclass

EXPORTS_PREFIX = "exports/"
RUNS_PREFIX = "runs/"
_EXPORT_OBJECT = re.compile(
    r"exports/(?P<dataset>[^/]+)/(?P<annotated>[^/]+)/(?P<run>[^/]+)/[^/]+\.(?P<ext>csv|jsonl)")


@dataclass(frozen=True)
class ExportObject:
    dataset: str
    annotated: str
    run: str
    format: str

    @property
    def split_prefix(self) -> str:
        """Where this export's split outputs go in SPLIT_BUCKET."""
        return f"{self.dataset}/{self.annotated}/{self.run}/"


def parse_export_object(name: str) -> ExportObject | None:
    """The export an object name is, or None for anything split_export must leave alone."""
    match = _EXPORT_OBJECT.fullmatch(name)
    if match is None:
        return None
    return ExportObject(match["dataset"], match["annotated"], match["run"],
                        "csv" if match["ext"] == "csv" else "jsonl")


def export_prefix(dataset: str, annotated: str, run: str) -> str:
    return f"{EXPORTS_PREFIX}{dataset}/{annotated}/{run}/"


def split_prefix_of(export_uri_prefix: str) -> str | None:
    """Where the split outputs of the export under gs://B/exports/<dataset>/<annotated>/<run>/
    (a run record's exportPrefix) go in SPLIT_BUCKET; None if it is not such a prefix."""
    name = export_uri_prefix.removeprefix("gs://").partition("/")[2]
    parts = name.removeprefix(EXPORTS_PREFIX).rstrip("/").split("/")
    if not name.startswith(EXPORTS_PREFIX) or len(parts) != 3 or not all(parts):
        return None
    return ExportObject(*parts, format="").split_prefix


def run_record_name(run: str) -> str:
    return f"{RUNS_PREFIX}{run}.json"
