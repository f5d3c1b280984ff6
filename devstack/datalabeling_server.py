"""Local stand-in of the Data Labeling Service v1beta1 REST surface (shut down in 2024).

    python -m devstack.datalabeling_server --port P --project demo-project \\
        [--storage-host http://127.0.0.1:Q] [--operation-delay 0.5]

Serves, on 127.0.0.1, the annotated datasets of `devstack.sample_exports.CATALOG`:

    GET  /v1beta1/projects/P/datasets/D/annotatedDatasets/A   AnnotatedDataset
    POST /v1beta1/projects/P/datasets/D:exportData            Operation (not done yet)
    GET  /v1beta1/projects/P/operations/O                     Operation

An export runs on a background thread: after the operation delay it writes the export to
Cloud Storage (the emulator at --storage-host or STORAGE_EMULATOR_HOST) at `outputUri`, or
at `<outputFolderUri>/export.jsonl` for a folder destination, then completes the operation.
Errors use Google's body `{"error": {"code", "message", "status"}}`.

Test controls under /_devstack (JSON bodies; every field optional):

    POST /_devstack/faults            {"count": 1, "code": 503, "method": "exportData"}
                                      the next `count` calls (of `method`: getAnnotatedDataset,
                                      exportData or getOperation; any if absent) answer `code`
                                      (429 RESOURCE_EXHAUSTED, 500, 503 UNAVAILABLE, 504)
    POST /_devstack/fail-next-export  {"code": 13, "message": "...", "count": 1}
                                      the next exports end in `done: true, error{code,message}`
    POST /_devstack/operation-delay   {"seconds": 5}   for operations started from now on
    GET  /_devstack/calls[?method=exportData]   {"calls": [{method, path, body, status}]}
    GET  /_devstack/catalog           the annotated datasets, their formats and bad lines
    POST /_devstack/reset             forget faults, calls and operations; default delay
    GET  /_devstack/healthz
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response

from devstack import sample_exports
from devstack.rest_standin import BUCKET as _BUCKET
from devstack.rest_standin import (
    OBJECT_URI,
    ApiError,
    ExportWriter,
    GcsExportWriter,
    StandInProcess,
    StandInState,
    add_admin_routes,
    api_view,
    json_body,
    json_response,
    new_app,
    request_fields,
    serve,
    storage_error,
    storage_url,
    timestamp,
)
from devstack.sample_exports import SampleDataset

DEFAULT_OPERATION_DELAY = 0.5
EXPORT_FOLDER_FILE = "export.jsonl"
_TYPE_PREFIX = "type.googleapis.com/google.cloud.datalabeling.v1beta1."
_CREATE_TIME = "2023-11-14T09:30:00Z"
_METHODS = ("getAnnotatedDataset", "exportData", "getOperation")
_SERVICE = "datalabeling.googleapis.com"

_FOLDER_URI = re.compile(rf"gs://({_BUCKET})(?:/(.*))?")


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class ExportRequest:
    sample: SampleDataset
    export_format: str  # "csv" or "jsonl"
    object_uri: str  # where the export is written
    output_config: dict  # as given, in camelCase


def parse_export_request(body: Any, project: str, dataset_id: str) -> ExportRequest:
    fields = request_fields(body, ("name", "annotatedDataset", "filter", "outputConfig",
                            "userEmailAddress"), "request")
    dataset_name = f"projects/{project}/datasets/{dataset_id}"
    if fields.get("name") not in (None, "", dataset_name):
        raise ApiError(400, f"name {fields['name']!r} does not match the URL ({dataset_name}).")
    annotated = fields.get("annotatedDataset")
    if not annotated or not isinstance(annotated, str):
        raise ApiError(400, "annotated_dataset is required.")
    if not isinstance(fields.get("filter", ""), str):
        raise ApiError(400, "filter must be a string.")
    prefix = f"{dataset_name}/annotatedDatasets/"
    annotated_id = annotated[len(prefix):]
    if not annotated.startswith(prefix) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", annotated_id):
        raise ApiError(400, f"annotated_dataset {annotated!r} is not an annotated dataset of "
                            f"{dataset_name}.")
    if not any(s.dataset_id == dataset_id for s in sample_exports.CATALOG):
        raise ApiError(404, f"Dataset {dataset_name} not found.")
    sample = sample_exports.find_sample(dataset_id, annotated_id)
    if sample is None:
        raise ApiError(404, f"AnnotatedDataset {annotated} not found.")
    if "outputConfig" not in fields:
        raise ApiError(400, "output_config is required.")
    return _destination(sample, fields["outputConfig"])


def _destination(sample: SampleDataset, output_config: Any) -> ExportRequest:
    config = request_fields(output_config, ("gcsDestination", "gcsFolderDestination"),
                            "output_config")
    if len(config) != 1:
        raise ApiError(400, "output_config must set exactly one of gcs_destination and "
                            "gcs_folder_destination.")
    segmentation = sample.annotation_type == "IMAGE_SEGMENTATION_ANNOTATION"
    if "gcsFolderDestination" in config:
        if not segmentation:
            raise ApiError(400, f"gcs_folder_destination is for image segmentation; use "
                                f"gcs_destination for {sample.annotation_type}.")
        folder = request_fields(config["gcsFolderDestination"], ("outputFolderUri",),
                         "output_config.gcs_folder_destination")
        uri = folder.get("outputFolderUri")
        if not isinstance(uri, str) or not _FOLDER_URI.fullmatch(uri):
            raise ApiError(400, f"output_folder_uri must be a gs://bucket/folder URI, "
                                f"not {uri!r}.")
        return ExportRequest(sample, "jsonl", f"{uri.rstrip('/')}/{EXPORT_FOLDER_FILE}",
                             {"gcsFolderDestination": {"outputFolderUri": uri}})
    if segmentation:
        raise ApiError(400, "IMAGE_SEGMENTATION_ANNOTATION exports to a gcs_folder_destination.")
    destination = request_fields(config["gcsDestination"], ("outputUri", "mimeType"),
                          "output_config.gcs_destination")
    uri, mime_type = destination.get("outputUri"), destination.get("mimeType")
    if not isinstance(uri, str) or not OBJECT_URI.fullmatch(uri):
        raise ApiError(400, f"output_uri must be a gs://bucket/object URI, not {uri!r}.")
    formats = {"text/csv": "csv", "application/json": "jsonl"}
    if mime_type not in formats:
        raise ApiError(400, f"mime_type must be \"text/csv\" or \"application/json\", "
                            f"not {mime_type!r}.")
    if formats[mime_type] not in sample.formats:
        raise ApiError(400, f"{sample.annotation_type} can only be exported as "
                            "application/json.")
    return ExportRequest(sample, formats[mime_type], uri,
                         {"gcsDestination": {"outputUri": uri, "mimeType": mime_type}})


# --------------------------------------------------------------------------- resources

_REQUEST_CONFIGS = {
    "IMAGE_CLASSIFICATION_ANNOTATION": ("imageClassificationConfig", {"allowMultiLabel": True}),
    "IMAGE_BOUNDING_BOX_ANNOTATION": ("boundingPolyConfig", {}),
    "IMAGE_ORIENTED_BOUNDING_BOX_ANNOTATION": ("boundingPolyConfig", {}),
    "IMAGE_BOUNDING_POLY_ANNOTATION": ("boundingPolyConfig", {}),
    "IMAGE_POLYLINE_ANNOTATION": ("polylineConfig", {}),
    "IMAGE_SEGMENTATION_ANNOTATION": ("segmentationConfig", {}),
    "VIDEO_SHOTS_CLASSIFICATION_ANNOTATION": ("videoClassificationConfig", None),
    "VIDEO_OBJECT_DETECTION_ANNOTATION": ("objectDetectionConfig", {"extractionFrameRate": 1.0}),
    "VIDEO_OBJECT_TRACKING_ANNOTATION": ("objectTrackingConfig", {}),
    "VIDEO_EVENT_ANNOTATION": ("eventConfig", None),
    "TEXT_CLASSIFICATION_ANNOTATION": ("textClassificationConfig", {}),
    "TEXT_ENTITY_EXTRACTION_ANNOTATION": ("textEntityExtractionConfig", {}),
}


def _metadata(sample: SampleDataset, project: str) -> dict:
    spec_set = f"projects/{project}/annotationSpecSets/{sample.dataset_id}-labels"
    key, extra = _REQUEST_CONFIGS[sample.annotation_type]
    if key == "videoClassificationConfig":
        config: dict = {"annotationSpecSetConfigs": [{"annotationSpecSet": spec_set}]}
    elif key == "eventConfig":
        config = {"annotationSpecSets": [spec_set]}
    else:
        config = {"annotationSpecSet": spec_set, **extra}
    human = {
        "instruction": f"projects/{project}/instructions/{sample.annotated_dataset_id}",
        "annotatedDatasetDisplayName": sample.display_name,
        "replicaCount": 1,
    }
    return {key: config, "humanAnnotationConfig": human}


def annotated_dataset_json(sample: SampleDataset, project: str, seed: int) -> dict:
    examples = sample_exports.generate_examples(sample, seed)
    count = str(len(examples))
    return {
        "name": sample.name(project),
        "displayName": sample.display_name,
        "annotationSource": "OPERATOR",
        "annotationType": sample.annotation_type,
        "exampleCount": count,
        "completedExampleCount": count,
        "labelStats": {"exampleCount": sample_exports.label_stats(list(examples))},
        "createTime": _CREATE_TIME,
        "metadata": _metadata(sample, project),
        "blockingResources": [],
    }


def _operation_id() -> str:
    hex_id = uuid.uuid4().hex
    return "_".join((hex_id[:8], hex_id[8:12], hex_id[12:16], hex_id[16:20], hex_id[20:]))


# --------------------------------------------------------------------------- state


class ServerState(StandInState):
    """The shared state of a stand-in, and the exports of this one."""

    def __init__(self, project: str, writer: ExportWriter, operation_delay: float, seed: int):
        self.project = project
        super().__init__(_SERVICE, _METHODS, writer, operation_delay, seed)

    def start_export(self, export: ExportRequest) -> dict:
        name = f"projects/{self.project}/operations/{_operation_id()}"
        dataset = export.sample.dataset_name(self.project)
        answer, failure, delay = self.start_operation({
            "name": name,
            "metadata": {
                "@type": _TYPE_PREFIX + "ExportDataOperationMetadata",
                "dataset": dataset,
                "partialFailures": [],
                "createTime": timestamp(),
            },
        })

        def outcome() -> dict:
            if failure is not None:
                return {"error": failure["error"]}
            try:
                return {"response": self._write_export(export)}
            except Exception as error:  # noqa: BLE001 - reported in the operation, as the service does
                return {"error": storage_error(error, export.object_uri)}

        self.complete_later(name, delay, outcome)
        return answer

    def _write_export(self, export: ExportRequest) -> dict:
        sample = export.sample
        rendered = sample_exports.render_export(sample, self.project, export.export_format,
                                                self.seed)
        self.writer(export.object_uri, rendered.data, rendered.content_type)
        examples = sample_exports.generate_examples(sample, self.seed)
        return {
            "@type": _TYPE_PREFIX + "ExportDataOperationResponse",
            "dataset": sample.dataset_name(self.project),
            "totalCount": len(examples),
            "exportCount": len(examples),
            "labelStats": {"exampleCount": sample_exports.label_stats(list(examples))},
            "outputConfig": export.output_config,
        }


# --------------------------------------------------------------------------- app


def create_app(project: str, writer: ExportWriter,
               operation_delay: float = DEFAULT_OPERATION_DELAY,
               seed: int = sample_exports.DEFAULT_SEED) -> Flask:
    app = new_app(__name__)
    state = ServerState(project, writer, operation_delay, seed)
    app.config["STATE"] = state

    def check_project(name: str) -> None:
        if name != project:
            raise ApiError(403, f"Permission denied on resource project {name} "
                                "(or it may not exist).")

    def get_annotated_dataset(project_id: str, dataset_id: str, annotated_id: str) -> dict:
        check_project(project_id)
        sample = sample_exports.find_sample(dataset_id, annotated_id)
        if sample is None:
            raise ApiError(404, f"AnnotatedDataset projects/{project_id}/datasets/{dataset_id}"
                                f"/annotatedDatasets/{annotated_id} not found.")
        return annotated_dataset_json(sample, project, state.seed)

    def export_data(project_id: str, dataset_id: str) -> dict:
        check_project(project_id)
        return state.start_export(parse_export_request(json_body(), project, dataset_id))

    def get_operation(project_id: str, operation_id: str) -> dict:
        check_project(project_id)
        name = f"projects/{project_id}/operations/{operation_id}"
        found = state.operation(name)
        if found is None:
            raise ApiError(404, f"Operation {name} not found.")
        return found

    base = "/v1beta1/projects/<project_id>"
    app.add_url_rule(f"{base}/datasets/<dataset_id>/annotatedDatasets/<annotated_id>",
                     view_func=api_view(state, "getAnnotatedDataset", get_annotated_dataset),
                     methods=["GET"])
    app.add_url_rule(f"{base}/datasets/<dataset_id>:exportData",
                     view_func=api_view(state, "exportData", export_data), methods=["POST"])
    app.add_url_rule(f"{base}/operations/<operation_id>",
                     view_func=api_view(state, "getOperation", get_operation), methods=["GET"])
    add_admin_routes(app, state)

    @app.get("/_devstack/catalog")
    def catalog() -> Response:
        entries = []
        for sample in sample_exports.CATALOG:
            bad_lines = {}
            for export_format in sample.formats:
                rendered = sample_exports.render_export(sample, state.project, export_format,
                                                        state.seed)
                bad_lines[export_format] = {str(k): v for k, v in rendered.bad_lines.items()}
            entries.append({"name": sample.name(state.project),
                            "annotationType": sample.annotation_type,
                            "dirty": sample.dirty, "formats": list(sample.formats),
                            "exampleCount": sample.example_count, "badLines": bad_lines})
        return json_response({"annotatedDatasets": entries})

    @app.get("/_devstack/healthz")
    def healthz() -> Response:
        return json_response({"status": "ok", "project": state.project})

    return app


# --------------------------------------------------------------------------- process


class DataLabelingServer(StandInProcess):
    """`with DataLabelingServer(storage_endpoint) as server:` runs this module as a managed
    process on a free loopback port; its methods drive the /_devstack controls."""

    def __init__(self, storage_endpoint: str, project: str = "demo-project",
                 operation_delay: float = DEFAULT_OPERATION_DELAY, port: int | None = None,
                 log_dir: str | None = None) -> None:
        self.project = project
        super().__init__("datalabeling-server", "devstack.datalabeling_server",
                         ["--project", project, "--storage-host", storage_endpoint,
                          "--operation-delay", str(operation_delay)], port, log_dir)

    def env(self) -> dict[str, str]:
        return {"DATALABELING_ENDPOINT": self.endpoint}

    def catalog(self) -> list[dict]:
        return self._admin("GET", "catalog")["annotatedDatasets"]


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--project", default="demo-project")
    parser.add_argument("--storage-host", default=os.environ.get("STORAGE_EMULATOR_HOST"),
                        help="Storage emulator URL (default: $STORAGE_EMULATOR_HOST)")
    parser.add_argument("--operation-delay", type=float, default=DEFAULT_OPERATION_DELAY)
    parser.add_argument("--seed", type=int, default=sample_exports.DEFAULT_SEED)
    args = parser.parse_args(argv)
    if not args.storage_host:
        parser.error("no Storage emulator: pass --storage-host or set STORAGE_EMULATOR_HOST")
    writer = GcsExportWriter(storage_url(args.storage_host), args.project)
    app = create_app(args.project, writer, args.operation_delay, args.seed)
    return serve(app, args.port, f"Data Labeling stand-in for projects/{args.project}")


if __name__ == "__main__":
    sys.exit(main())
