"""The object layout (docs/contracts.md): where exports, export sets, run records and split
outputs live.

    EXPORT_BUCKET/exports/<dataset>/<annotated>/<run>/export.csv|jsonl     a one-file export
    EXPORT_BUCKET/exports/<dataset>/<annotated>/<run>/files/...            a folder export's files
    EXPORT_BUCKET/exports/vertex/<location>/<dataset>/<run>/files/...      a Vertex AI export's
    EXPORT_BUCKET/exports/<any path>/<run>/export-set.json                 an export set
    SPLIT_BUCKET/<the export's folder, without exports/>/                  its split outputs
    SPLIT_BUCKET/runs/<run>.json                                           run records

split_export acts on one-file exports and on export sets; the files a set lists (under
`files/`) never trigger a split of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EXPORTS_PREFIX = "exports/"
RUNS_PREFIX = "runs/"
FILES_FOLDER = "files/"
EXPORT_SET_NAME = "export-set.json"
VERTEX_FOLDER = "vertex/"
_SEGMENT = r"[^/]+"
_EXPORT_FILE = re.compile(
    rf"exports/(?P<folder>(?P<dataset>{_SEGMENT})/(?P<annotated>{_SEGMENT})/(?P<run>{_SEGMENT}))"
    rf"/{_SEGMENT}\.(?P<ext>csv|jsonl)")
_EXPORT_SET = re.compile(
    rf"exports/(?P<folder>(?:{_SEGMENT}/)*(?P<run>{_SEGMENT}))/{re.escape(EXPORT_SET_NAME)}")


@dataclass(frozen=True)
class ExportObject:
    folder: str  # the export's folder under exports/
    run: str
    format: str | None  # a one-file export's; None for an export set (the set says)
    is_set: bool = False

    @property
    def split_prefix(self) -> str:
        """Where this export's split outputs go in SPLIT_BUCKET."""
        return f"{self.folder}/"

    @property
    def fallback_dataset(self) -> str:
        """A name for results when no run record says which dataset this is: what the folder
        says (datasets/D/annotatedDatasets/A for a Data Labeling export's)."""
        parts = self.folder.split("/")
        if len(parts) == 3 and f"{parts[0]}/" != VERTEX_FOLDER:
            return f"datasets/{parts[0]}/annotatedDatasets/{parts[1]}"
        return "/".join(parts[:-1])


def parse_export_object(name: str) -> ExportObject | None:
    """The export an object name is, or None for anything split_export must leave alone."""
    found = _EXPORT_SET.fullmatch(name)
    if found is not None and ".." not in found["folder"].split("/"):
        return ExportObject(found["folder"], found["run"], None, is_set=True)
    found = _EXPORT_FILE.fullmatch(name)
    if found is None:
        return None
    return ExportObject(found["folder"], found["run"], found["ext"])


def export_prefix(dataset: str, annotated: str, run: str) -> str:
    return f"{EXPORTS_PREFIX}{dataset}/{annotated}/{run}/"


def vertex_export_prefix(location: str, dataset: str, run: str) -> str:
    return f"{EXPORTS_PREFIX}{VERTEX_FOLDER}{location}/{dataset}/{run}/"


def split_prefix_of(export_uri_prefix: str) -> str | None:
    """Where the split outputs of the export under gs://B/exports/<folder>/ (a run record's
    exportPrefix) go in SPLIT_BUCKET; None if it is not such a prefix."""
    name = export_uri_prefix.removeprefix("gs://").partition("/")[2]
    folder = name.removeprefix(EXPORTS_PREFIX).rstrip("/")
    if not name.startswith(EXPORTS_PREFIX) or not folder or "" in folder.split("/"):
        return None
    return f"{folder}/"


def run_record_name(run: str) -> str:
    return f"{RUNS_PREFIX}{run}.json"
