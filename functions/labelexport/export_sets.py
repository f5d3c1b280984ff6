"""The export set: the commit point of an export written as several files (docs/contracts.md).

A small JSON object naming the run, the backend, the dataset, the annotation format and every
file of the export with its generation and size, in order. export_labeled_data writes it once
the export's operation is done; a person may write one by hand. split_export splits the files
it lists as one export. Building, rendering and reading one is pure: no Cloud Storage here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from labelexport import formats
from labelexport.errors import SourceError

EXPORT_SET_NAME = "export-set.json"
KIND = "labelexport#exportSet"
MAX_FILES = 10_000
MAX_SET_BYTES = 4 << 20
BACKENDS = (formats.DATALABELING, formats.VERTEX)
_GCS_URI = re.compile(r"gs://[a-z0-9][a-z0-9._-]{0,221}/[^\n\r]{1,1024}")


@dataclass(frozen=True)
class SetFile:
    uri: str
    generation: int
    size: int


@dataclass(frozen=True)
class ExportSet:
    run_id: str
    backend: str
    dataset: str
    annotation_type: str | None  # None: inferred from the rows
    format: str
    files: tuple[SetFile, ...]
    annotation_type_source: str = "export_set"
    partial_failures: tuple[dict, ...] = ()  # what the export reported it could not export


def render(export_set: ExportSet) -> bytes:
    """The object's bytes: the same set always renders to the same bytes."""
    document = {
        "kind": KIND,
        "runId": export_set.run_id,
        "backend": export_set.backend,
        "dataset": export_set.dataset,
        "annotationType": export_set.annotation_type,
        "annotationTypeSource": export_set.annotation_type_source,
        "format": export_set.format,
        "files": [{"uri": f.uri, "generation": str(f.generation), "size": str(f.size)}
                  for f in export_set.files],
    }
    if export_set.partial_failures:
        document["partialFailures"] = list(export_set.partial_failures)
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)) or \
            not re.fullmatch(r"\d{1,19}", str(value)):
        raise SourceError(f"export set: {what} is not a whole number: {str(value)[:40]!r}")
    return int(value)


def _text(document: dict, name: str) -> str:
    return str(document.get(name) or "")[:1024]


def parse(data: bytes, where: str, local_files: bool = False) -> ExportSet:
    """The set in `data` (read from `where`); SourceError names what is wrong. With
    `local_files` (a set on a local disk) a file may also be a local path, relative to the
    set's folder, and need not give a generation."""
    if len(data) > MAX_SET_BYTES:
        raise SourceError(f"{where} is over {MAX_SET_BYTES} bytes: not an export set")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise SourceError(f"{where} is not JSON: {str(exc)[:200]}") from None
    if not isinstance(document, dict) or document.get("kind") != KIND:
        raise SourceError(f"{where} is not an export set (kind must be {KIND!r})")
    backend = document.get("backend")
    if backend not in BACKENDS:
        raise SourceError(f"{where}: backend must be one of {', '.join(BACKENDS)}")
    fmt = document.get("format", "jsonl")
    if fmt not in ("csv", "jsonl"):
        raise SourceError(f"{where}: format must be csv or jsonl, not {str(fmt)[:40]!r}")
    annotation_type = document.get("annotationType")
    if annotation_type is not None:
        known = formats.find(annotation_type)
        if known is None:
            raise SourceError(f"{where}: unknown annotationType {str(annotation_type)[:80]!r}")
        annotation_type = known.name
    files = document.get("files")
    if not isinstance(files, list) or not files:
        raise SourceError(f"{where}: files must be a non-empty list")
    if len(files) > MAX_FILES:
        raise SourceError(f"{where}: {len(files)} files, over {MAX_FILES}")
    listed = []
    for k, entry in enumerate(files):
        at = f"files[{k}]"
        if not isinstance(entry, dict):
            raise SourceError(f"{where}: {at} is not an object")
        uri = entry.get("uri")
        local = local_files and isinstance(uri, str) and bool(uri) and "://" not in uri
        if not local and (not isinstance(uri, str) or not _GCS_URI.fullmatch(uri)):
            raise SourceError(f"{where}: {at}.uri is not a gs://bucket/object URI")
        generation = entry.get("generation", 0 if local else None)
        listed.append(SetFile(uri, _whole(generation, f"{at}.generation"),
                              _whole(entry.get("size", 0), f"{at}.size")))
    if len({f.uri for f in listed}) != len(listed):
        raise SourceError(f"{where}: a file is listed twice")
    failures = document.get("partialFailures") or []
    return ExportSet(run_id=_text(document, "runId"), backend=backend,
                     dataset=_text(document, "dataset"), annotation_type=annotation_type,
                     format=fmt, files=tuple(listed),
                     annotation_type_source=_text(document, "annotationTypeSource")
                     or "export_set",
                     partial_failures=tuple(f for f in failures[:20] if isinstance(f, dict))
                     if isinstance(failures, list) else ())
