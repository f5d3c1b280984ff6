"""The two services export_labeled_data exports from, behind one interface: the Data Labeling
Service (annotated datasets) and Vertex AI (datasets).

A backend plans a run (the record's backend fields: what to export, in which format, where it
lands), starts the export, follows its operation, and, once it is done, says what it wrote: one
file (split_export acts on it as it lands) or several (export_labeled_data then writes the
export set that lists them). ExportRun decides; the backends talk to the services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from labelexport import formats
from labelexport.config import Settings
from labelexport.datalabeling import DataLabelingClient, export_extension, output_config_for
from labelexport.errors import PermanentError
from labelexport.export_paths import (
    EXPORT_SET_NAME,
    FILES_FOLDER,
    export_prefix,
    vertex_export_prefix,
)
from labelexport.export_sets import SetFile
from labelexport.gcs import GcsStore, parse_uri
from labelexport.messages import ExportRequest
from labelexport.vertex_ai import VertexAIClient, export_outcome

_MEDIA_SCHEMA = re.compile(r"gs://google-cloud-aiplatform/schema/dataset/metadata/"
                           r"(?P<media>image|text|video)_1\.0\.0\.yaml")
_SCHEMA_TITLE = re.compile(rb"^title:\s*(?P<title>[A-Za-z]+)\s*$", re.MULTILINE)
_SCHEMA_HEAD_BYTES = 4096


@dataclass(frozen=True)
class Outcome:
    """A done export: what it wrote and what the run record keeps of it."""

    files: tuple[SetFile, ...] | None  # None: one file, split as it lands; else the set's
    result: dict  # counts or files, partial failures: kept in the record and the set
    annotation_type: str | None = None  # learnt from the export itself, if it says
    annotation_type_source: str = ""


class Backend(Protocol):
    family: str

    def plan(self, request: ExportRequest, run_id: str) -> dict:
        """The run record's backend fields; PermanentError if the dataset cannot be had."""

    def start(self, record: dict) -> dict:
        """Start the export of a planned run: its operation."""

    def wait(self, operation: str, timeout_seconds: float) -> dict:
        """The done operation (OperationStillRunning when the time is up)."""

    def outcome(self, record: dict, operation: dict) -> Outcome:
        """What a done (and not failed) export wrote."""


def set_uri(record: dict) -> str:
    """Where a run's export set goes: beside its files."""
    return f"{record['exportPrefix']}{EXPORT_SET_NAME}"


def landed_uri_prefix(record: dict) -> tuple[str, bool]:
    """(what to look for, whether it is one object) to tell whether a run's export landed: a
    multi-file export has landed when its set is written; a one-file one, when anything has."""
    if record.get("multiFile"):
        return set_uri(record), True
    return str(record.get("exportPrefix") or ""), False


class DataLabelingBackend:
    family = formats.DATALABELING

    def __init__(self, client: DataLabelingClient, store: GcsStore, settings: Settings):
        self.client, self.store, self.settings = client, store, settings

    def plan(self, request: ExportRequest, run_id: str) -> dict:
        dataset = self.client.get_annotated_dataset(str(request.annotated_dataset))
        annotation_type = dataset.get("annotationType") or ""
        fmt = export_extension(annotation_type, request.format or self.settings.export_format)
        parsed = request.annotated_dataset
        prefix = export_prefix(parsed.dataset, parsed.annotated_dataset, run_id)
        known = formats.find(annotation_type)
        folder = known is not None and known.export_to_folder
        bucket = self.settings.export_bucket
        return {
            "backend": self.family,
            "annotatedDataset": str(parsed),
            "annotationType": annotation_type,
            "format": fmt,
            "filter": request.filter,
            "exportPrefix": f"gs://{bucket}/{prefix}",
            "outputConfig": output_config_for(annotation_type, fmt, bucket,
                                              prefix + FILES_FOLDER if folder else prefix),
            "multiFile": folder,
        }

    def start(self, record: dict) -> dict:
        return self.client.export_data(record["annotatedDataset"], record["outputConfig"],
                                       record.get("filter") or "")

    def wait(self, operation: str, timeout_seconds: float) -> dict:
        return self.client.wait_for_operation(operation, timeout_seconds)

    def outcome(self, record: dict, operation: dict) -> Outcome:
        response = operation.get("response") or {}
        result = {k: response.get(k) for k in ("totalCount", "exportCount", "labelStats")}
        if not record.get("multiFile"):
            return Outcome(None, result)
        # The service names the files of a folder export itself and lists none of them.
        bucket, prefix = parse_uri(record["outputConfig"]["gcsFolderDestination"]
                                   ["outputFolderUri"])
        files = tuple(SetFile(f"gs://{bucket}/{name}", generation, size)
                      for name, generation, size in self.store.list_objects(bucket, prefix))
        if not files:
            raise PermanentError(f"the export of {record['annotatedDataset']} is done but "
                                 f"wrote nothing under gs://{bucket}/{prefix}")
        return Outcome(files, result, record.get("annotationType") or None, "run_record")


class VertexBackend:
    family = formats.VERTEX

    def __init__(self, client: VertexAIClient, store: GcsStore, settings: Settings):
        self.client, self.store, self.settings = client, store, settings

    def plan(self, request: ExportRequest, run_id: str) -> dict:
        parsed = request.dataset
        dataset = self.client.get_dataset(str(parsed))
        schema = str(dataset.get("metadataSchemaUri") or "")
        media = _MEDIA_SCHEMA.fullmatch(schema)
        if media is None:
            raise PermanentError(f"{parsed} is a {schema or 'schema-less'} dataset; labelexport "
                                 "exports image, text and video datasets")
        prefix = vertex_export_prefix(parsed.location, parsed.dataset, run_id)
        return {
            "backend": self.family,
            "dataset": str(parsed),
            "displayName": str(dataset.get("displayName") or "")[:256],
            "media": media["media"],
            "format": "jsonl",
            "annotationsFilter": request.filter,
            "exportPrefix": f"gs://{self.settings.export_bucket}/{prefix}",
            "outputUriPrefix": f"gs://{self.settings.export_bucket}/{prefix}{FILES_FOLDER}",
            "multiFile": True,
        }

    def start(self, record: dict) -> dict:
        return self.client.export_data(record["dataset"], record["outputUriPrefix"],
                                       record.get("annotationsFilter") or "")

    def wait(self, operation: str, timeout_seconds: float) -> dict:
        return self.client.wait_for_operation(operation, timeout_seconds)

    def outcome(self, record: dict, operation: dict) -> Outcome:
        done = export_outcome(operation)
        files = []
        for uri in done.exported_files:
            found = self.store.stat(uri)
            if found is None:
                raise PermanentError(f"{uri}, listed by the export of {record['dataset']}, "
                                     "does not exist")
            files.append(SetFile(uri, *found))
        if not files:
            raise PermanentError(f"the export of {record['dataset']} exported no file (an "
                                 "empty dataset, or an annotationsFilter that matched nothing)")
        annotation_type, source = self._annotation_type(done.exported_files, record["media"])
        result = {"exportedFiles": len(files),
                  "partialFailures": [dict(f) for f in done.partial_failures][:20]}
        return Outcome(tuple(files), result, annotation_type, source)

    def _annotation_type(self, exported: tuple[str, ...], media: str) -> tuple[str | None, str]:
        """The format the export's schema.yaml (beside its first file) names; else none (the
        split infers it) when the dataset's media alone cannot say."""
        head = self.store.read_head(exported[0].rsplit("/", 1)[0] + "/schema.yaml",
                                    _SCHEMA_HEAD_BYTES)
        title = _SCHEMA_TITLE.search(head or b"")
        known = formats.find(title["title"].decode()) if title else None
        if known is not None and known.family == formats.VERTEX and known.media == media:
            return known.name, "export_schema"
        return None, "inferred"


def backends(settings: Settings, store: GcsStore, datalabeling: DataLabelingClient,
             vertex: VertexAIClient) -> dict[str, Backend]:
    return {formats.DATALABELING: DataLabelingBackend(datalabeling, store, settings),
            formats.VERTEX: VertexBackend(vertex, store, settings)}
