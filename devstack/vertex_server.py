"""Local stand-in of the Vertex AI v1 REST surface that export_labeled_data uses.

    python -m devstack.vertex_server --port P [--project demo-project]
        [--project-number 123456789012] [--locations us-central1,europe-west4]
        [--storage-host http://127.0.0.1:Q] [--operation-delay 0.5]

Serves, on 127.0.0.1, the datasets of `devstack.vertex_samples.CATALOG` in each location:

    GET  /v1/projects/P/locations/L/datasets/D                  Dataset
    POST /v1/projects/P/locations/L/datasets/D:export           Operation (not done yet)
    GET  /v1/projects/P/locations/L/datasets/D/operations/O     Operation
    GET  /ui/projects/P/locations/L/datasets/D/operations/O     the same: Google's REST
                                                                transport polls /ui/...

P is the project id or its number; names in answers carry the number, as Vertex AI's do.
Operation ids are numeric. Errors use Google's body `{"error": {"code", "message", "status"}}`.

An export (`exportConfig.gcsDestination.outputUriPrefix`, and `annotationsFilter` empty or
`labels.aiplatform.googleapis.com/annotation_set_name=SET`) runs on a background thread: after
the operation delay it writes, into Cloud Storage (the emulator at --storage-host or
STORAGE_EMULATOR_HOST),

    <outputUriPrefix>/export-data-<display name>-<YYYY-MM-DDThh:mm:ss.sssZ>/   gcsOutputDirectory
        <schema title>/schema.yaml                   the title of the import schema, e.g.
        <schema title>/data-00001-of-00002.jsonl     ImageBoundingBox; one JSON Lines file per
        <schema title>/data-00002-of-00002.jsonl     annotation set, in the dataset's order

then completes the operation: `response` is an ExportDataResponse whose `exportedFiles` lists
the JSON Lines files (not schema.yaml), in that order. A data item labeled in two annotation
sets is in both files. Custom-training exports (splits, savedQueryId, annotationSchemaUri,
exportUse) are not served: they answer 501 UNIMPLEMENTED.

Test controls under /_devstack (JSON bodies; every field optional):

    POST /_devstack/faults            {"count": 1, "code": 503, "method": "exportData"}
                                      the next `count` calls (of `method`: getDataset,
                                      exportData or getOperation; any if absent) answer `code`
                                      (429 RESOURCE_EXHAUSTED, 500, 503 UNAVAILABLE, 504)
    POST /_devstack/fail-next-export  {"code": 13, "message": "...", "count": 1,
                                       "writtenFiles": 0}
                                      the next exports end in `done: true, error{code,message}`,
                                      after writing their first `writtenFiles` files
    POST /_devstack/partial-failures  {"failures": [{"code": 3, "message": "..."}], "count": 1}
                                      the next exports succeed with these
                                      `metadata.genericMetadata.partialFailures`
    POST /_devstack/operation-delay   {"seconds": 5}   for operations started from now on
    GET  /_devstack/calls[?method=getOperation]   {"calls": [{method, path, query, body,
                                      status}]}
    GET  /_devstack/catalog           the datasets, their schemas, annotation sets, bad lines
    GET  /_devstack/exports           the exports written: operation, files, their annotation
                                      set, line count and bad lines
    POST /_devstack/reset             forget faults, failures, calls, operations and exports
    GET  /_devstack/healthz
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import os
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, Response, request

from devstack import vertex_samples
from devstack.rest_standin import (
    BUCKET,
    RPC_CODES,
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
from devstack.vertex_samples import VertexSampleDataset

DEFAULT_OPERATION_DELAY = 0.5
DEFAULT_PROJECT = "demo-project"
DEFAULT_PROJECT_NUMBER = "123456789012"
DEFAULT_LOCATIONS = ("us-central1",)
ANNOTATION_SET_FILTER = "labels.aiplatform.googleapis.com/annotation_set_name"
JSONL_CONTENT_TYPE = "application/jsonl"
_TYPES = "type.googleapis.com/google.cloud.aiplatform.v1."
_SERVICE = "aiplatform.googleapis.com"
_METHODS = ("getDataset", "exportData", "getOperation")
_PERMISSIONS = {"getDataset": "aiplatform.datasets.get", "exportData": "aiplatform.datasets.export",
                "getOperation": "aiplatform.datasets.get"}  # GET on its operations too
_CREATE_TIME = "2024-05-14T09:30:00.000Z"
_UPDATE_TIME = "2024-06-27T16:05:41.250Z"
_OUTPUT_URI_PREFIX = re.compile(rf"gs://({BUCKET})(?:/(.*))?")
_FILTER = re.compile(rf'\s*{re.escape(ANNOTATION_SET_FILTER)}\s*=\s*("?)([\w.\-]+)\1\s*')
_DATA_KEYS = {"image": ["imageGcsUri"], "video": ["videoGcsUri"], "text": []}
_DEFAULT_PARTIAL_FAILURE = {"code": RPC_CODES["INVALID_ARGUMENT"],
                            "message": "1 data item could not be exported: its annotation "
                                       "refers to a deleted annotation spec."}


def schema_title(schema: str) -> str:
    """The title of an import schema: image_bounding_box -> ImageBoundingBox."""
    return "".join(part.capitalize() for part in schema.split("_"))


def schema_yaml(dataset: VertexSampleDataset) -> bytes:
    """The `schema.yaml` of an export folder: what its JSON Lines files hold."""
    title = schema_title(dataset.schema)
    media = vertex_samples.media_of(dataset.schema)
    lines = [f"title: {title}",
             "description: >",
             f"  Import and export format of {media} data items with their annotations,",
             f"  as {dataset.ioformat_schema_uri} defines it.",
             "type: object"]
    if _DATA_KEYS[media]:
        lines += ["required:", *(f"- {key}" for key in _DATA_KEYS[media])]
    return ("\n".join(lines) + "\n").encode()


def _etag(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:24]


def dataset_json(dataset: VertexSampleDataset, name: str) -> dict:
    media = vertex_samples.media_of(dataset.schema)
    project_location = name.split("/datasets/")[0]
    return {
        "name": name,
        "displayName": dataset.display_name,
        "metadataSchemaUri": dataset.metadata_schema_uri,
        "metadata": {"dataItemSchemaUri":
                     f"gs://google-cloud-aiplatform/schema/dataset/dataitem/{media}_1.0.0.yaml"},
        "dataItemCount": str(dataset.items),
        "createTime": _CREATE_TIME,
        "updateTime": _UPDATE_TIME,
        "etag": _etag(name, _UPDATE_TIME),
        "labels": {"aiplatform.googleapis.com/dataset_metadata_schema": media.upper()},
        "metadataArtifact": f"{project_location}/metadataStores/default/artifacts/"
                            f"{_etag(name, 'artifact')[:20]}",
    }


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class ExportRequest:
    dataset: VertexSampleDataset
    dataset_name: str  # canonical: projects/<number>/locations/L/datasets/D
    output_directory: str  # gs://bucket/prefix/export-data-<name>-<time>/
    annotation_sets: tuple[str, ...]  # the sets the filter selects, in the dataset's order


def _annotation_sets(dataset: VertexSampleDataset, annotations_filter: object) -> tuple[str, ...]:
    if not isinstance(annotations_filter, str):
        raise ApiError(400, "annotations_filter must be a string.")
    if not annotations_filter.strip():
        return dataset.annotation_sets
    found = _FILTER.fullmatch(annotations_filter)
    if found is None:
        raise ApiError(501, f"The local stand-in filters annotations by "
                            f"{ANNOTATION_SET_FILTER}=SET only, not {annotations_filter!r}.")
    return tuple(s for s in dataset.annotation_sets if s == found[2])


def parse_export_request(body: dict, dataset: VertexSampleDataset, dataset_name: str,
                         now: datetime) -> ExportRequest:
    fields = request_fields(body, ("name", "exportConfig"), "request")
    if fields.get("name") not in (None, "") and not str(fields["name"]).endswith(
            dataset_name.split("/", 2)[2]):  # the project may be named by id or number
        raise ApiError(400, f"name {fields['name']!r} does not match the URL.")
    if "exportConfig" not in fields:
        raise ApiError(400, "export_config is required.")
    config = request_fields(fields["exportConfig"], (
        "gcsDestination", "fractionSplit", "filterSplit", "annotationsFilter", "savedQueryId",
        "annotationSchemaUri", "exportUse"), "export_config")
    custom = [k for k in ("fractionSplit", "filterSplit", "savedQueryId", "annotationSchemaUri")
              if config.get(k)]
    if config.get("exportUse") not in (None, 0, "EXPORT_USE_UNSPECIFIED"):
        custom.append("exportUse")
    if custom:
        raise ApiError(501, f"The local stand-in does not serve custom-training exports "
                            f"({', '.join(custom)}).")
    if "gcsDestination" not in config:
        raise ApiError(400, "export_config.gcs_destination is required.")
    destination = request_fields(config["gcsDestination"], ("outputUriPrefix",),
                                 "export_config.gcs_destination")
    prefix = destination.get("outputUriPrefix")
    if not isinstance(prefix, str) or not _OUTPUT_URI_PREFIX.fullmatch(prefix):
        raise ApiError(400, f"output_uri_prefix must be a gs://bucket/folder URI, not "
                            f"{prefix!r}.")
    sets = _annotation_sets(dataset, config.get("annotationsFilter", ""))
    moment = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    folder = f"{prefix.rstrip('/')}/export-data-{dataset.display_name}-{moment}/"
    return ExportRequest(dataset, dataset_name, folder, sets)


# --------------------------------------------------------------------------- state


class ServerState(StandInState):
    """The shared state of a stand-in, and the exports of this one."""

    def __init__(self, project: str, project_number: str, locations: tuple[str, ...],
                 writer: ExportWriter, operation_delay: float, seed: int):
        self.project = project
        self.project_number = project_number
        self.locations = locations
        super().__init__(_SERVICE, _METHODS, writer, operation_delay, seed)

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.partial_failures: list[list[dict]] = []
            self.exports: list[dict] = []

    def start_export(self, export: ExportRequest) -> dict:
        name = f"{export.dataset_name}/operations/{secrets.randbelow(2**63 - 10**18) + 10**18}"
        started = timestamp()
        metadata = {"@type": _TYPES + "ExportDataOperationMetadata",
                    "genericMetadata": {"createTime": started, "updateTime": started},
                    "gcsOutputDirectory": export.output_directory}
        with self.lock:
            partial = self.partial_failures.pop(0) if self.partial_failures else []
        answer, failure, delay = self.start_operation({"name": name, "metadata": metadata})

        def outcome() -> dict:
            written = failure["writtenFiles"] if failure is not None else None
            try:
                files = self._write_export(name, export, written)
            except Exception as error:  # noqa: BLE001 - reported in the operation, as the service does
                fields = {"error": storage_error(error, export.output_directory)}
            else:
                fields = {"error": failure["error"]} if failure is not None else {
                    "response": {"@type": _TYPES + "ExportDataResponse",
                                 "exportedFiles": files}}
            done = copy.deepcopy(metadata)
            done["genericMetadata"]["updateTime"] = timestamp()
            if partial and "response" in fields:
                done["genericMetadata"]["partialFailures"] = partial
            return {"metadata": done, **fields}

        self.complete_later(name, delay, outcome)
        return answer

    def _write_export(self, operation: str, export: ExportRequest,
                      only: int | None) -> list[str]:
        """Write the export's files (only the first `only` of them when not None); their
        URIs, in order."""
        rendered = vertex_samples.render_export(export.dataset, self.seed)
        folder = f"{export.output_directory}{schema_title(export.dataset.schema)}/"
        count = len(export.annotation_sets)
        planned = [(f"{folder}data-{k:05d}-of-{count:05d}.jsonl", annotation_set)
                   for k, annotation_set in enumerate(export.annotation_sets, 1)]
        record = {"operation": operation, "dataset": export.dataset_name,
                  "outputDirectory": export.output_directory, "files": []}
        with self.lock:
            self.exports.append(record)
        if planned and only != 0:
            self.writer(f"{folder}schema.yaml", schema_yaml(export.dataset), "application/x-yaml")
        for uri, annotation_set in planned[:only]:
            self.writer(uri, rendered.text(annotation_set).encode(), JSONL_CONTENT_TYPE)
            bad = {str(line): reason for (s, line), reason in rendered.bad_lines.items()
                   if s == annotation_set}
            with self.lock:
                record["files"].append({"uri": uri, "annotationSet": annotation_set,
                                        "lines": len(rendered.files[annotation_set]),
                                        "badLines": bad})
        return [uri for uri, _ in planned]


# --------------------------------------------------------------------------- app


def create_app(writer: ExportWriter, project: str = DEFAULT_PROJECT,
               project_number: str = DEFAULT_PROJECT_NUMBER,
               locations: tuple[str, ...] = DEFAULT_LOCATIONS,
               operation_delay: float = DEFAULT_OPERATION_DELAY,
               seed: int = vertex_samples.DEFAULT_SEED) -> Flask:
    app = new_app(__name__)
    state = ServerState(project, project_number, locations, writer, operation_delay, seed)
    app.config["STATE"] = state

    def locate(method: str, project_id: str, location: str, dataset_id: str
               ) -> tuple[VertexSampleDataset, str]:
        """The sample dataset a URL names and its canonical name; else the API's error."""
        asked = f"projects/{project_id}/locations/{location}/datasets/{dataset_id}"
        if project_id not in (project, project_number):
            raise ApiError(403, f"Permission '{_PERMISSIONS[method]}' denied on resource "
                                f"'//aiplatform.googleapis.com/{asked}' (or it may not exist).")
        if not dataset_id.isdigit():
            raise ApiError(400, f"Invalid Dataset resource name: {asked}.")
        dataset = vertex_samples.find_dataset(dataset_id)
        if dataset is None or location not in locations:
            raise ApiError(404, "The Dataset does not exist.")
        return dataset, dataset.name(project_number, location)

    def get_dataset(project_id: str, location: str, dataset_id: str) -> dict:
        dataset, name = locate("getDataset", project_id, location, dataset_id)
        return dataset_json(dataset, name)

    def export_data(project_id: str, location: str, dataset_id: str) -> dict:
        dataset, name = locate("exportData", project_id, location, dataset_id)
        return state.start_export(parse_export_request(json_body(), dataset, name,
                                                       datetime.now(UTC)))

    def get_operation(project_id: str, location: str, dataset_id: str,
                      operation_id: str) -> dict:
        locate("getOperation", project_id, location, dataset_id)
        name = (f"projects/{project_number}/locations/{location}/datasets/{dataset_id}"
                f"/operations/{operation_id}")
        found = state.operation(name)
        if found is None:
            raise ApiError(404, f"Operation {name} is not found.")
        return found

    dataset_url = "projects/<project_id>/locations/<location>/datasets/<dataset_id>"
    app.add_url_rule(f"/v1/{dataset_url}", view_func=api_view(state, "getDataset", get_dataset),
                     methods=["GET"])
    app.add_url_rule(f"/v1/{dataset_url}:export",
                     view_func=api_view(state, "exportData", export_data), methods=["POST"])
    poll = api_view(state, "getOperation", get_operation)
    for root in ("v1", "ui"):
        app.add_url_rule(f"/{root}/{dataset_url}/operations/<operation_id>",
                         endpoint=f"getOperation-{root}", view_func=poll, methods=["GET"])
    add_admin_routes(app, state)
    _add_vertex_admin_routes(app, state)
    return app


def _add_vertex_admin_routes(app: Flask, state: ServerState) -> None:
    @app.post("/_devstack/partial-failures")
    def partial_failures() -> Response:
        args = request.get_json(silent=True) or {}
        failures = [{"code": int(f.get("code", 3)), "message": str(f.get("message", ""))}
                    for f in args.get("failures", [_DEFAULT_PARTIAL_FAILURE])]
        with state.lock:
            state.partial_failures.extend(copy.deepcopy(failures)
                                          for _ in range(int(args.get("count", 1))))
        return json_response({"failures": failures})

    @app.get("/_devstack/catalog")
    def catalog() -> Response:
        entries = []
        for dataset in vertex_samples.CATALOG:
            rendered = vertex_samples.render_export(dataset, state.seed)
            entries.append({
                "name": dataset.name(state.project_number, state.locations[0]),
                "displayName": dataset.display_name, "schema": dataset.schema,
                "metadataSchemaUri": dataset.metadata_schema_uri, "dirty": dataset.dirty,
                "annotationSets": [
                    {"name": s, "lines": len(rendered.files[s]),
                     "badLines": {str(line): reason for (t, line), reason
                                  in rendered.bad_lines.items() if t == s}}
                    for s in dataset.annotation_sets]})
        return json_response({"datasets": entries})

    @app.get("/_devstack/exports")
    def exports() -> Response:
        with state.lock:
            return json_response({"exports": copy.deepcopy(state.exports)})

    @app.get("/_devstack/healthz")
    def healthz() -> Response:
        return json_response({"status": "ok", "project": state.project,
                              "projectNumber": state.project_number,
                              "locations": list(state.locations)})


# --------------------------------------------------------------------------- process


class VertexAIServer(StandInProcess):
    """`with VertexAIServer(storage_endpoint) as server:` runs this module as a managed
    process on a free loopback port; its methods drive the /_devstack controls."""

    def __init__(self, storage_endpoint: str, project: str = DEFAULT_PROJECT,
                 project_number: str = DEFAULT_PROJECT_NUMBER,
                 locations: tuple[str, ...] = DEFAULT_LOCATIONS,
                 operation_delay: float = DEFAULT_OPERATION_DELAY, port: int | None = None,
                 log_dir: str | None = None) -> None:
        self.project = project
        self.project_number = project_number
        self.locations = tuple(locations)
        super().__init__("vertex-server", "devstack.vertex_server",
                         ["--project", project, "--project-number", project_number,
                          "--locations", ",".join(self.locations),
                          "--storage-host", storage_endpoint,
                          "--operation-delay", str(operation_delay)], port, log_dir)

    def env(self) -> dict[str, str]:
        return {"VERTEX_ENDPOINT": self.endpoint}

    def dataset_name(self, dataset: VertexSampleDataset, location: str | None = None,
                     by_number: bool = False) -> str:
        """The name of a sample dataset here (by project id unless `by_number`)."""
        return dataset.name(self.project_number if by_number else self.project,
                            location or self.locations[0])

    def set_partial_failures(self, failures: list[dict] | None = None, count: int = 1) -> None:
        body: dict = {"count": count}
        if failures is not None:
            body["failures"] = failures
        self._admin("POST", "partial-failures", body)

    def catalog(self) -> list[dict]:
        return self._admin("GET", "catalog")["datasets"]

    def exports(self) -> list[dict]:
        return self._admin("GET", "exports")["exports"]


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--project", default=DEFAULT_PROJECT)
    parser.add_argument("--project-number", default=DEFAULT_PROJECT_NUMBER)
    parser.add_argument("--locations", default=",".join(DEFAULT_LOCATIONS),
                        help="comma-separated regions the datasets are in")
    parser.add_argument("--storage-host", default=os.environ.get("STORAGE_EMULATOR_HOST"),
                        help="Storage emulator URL (default: $STORAGE_EMULATOR_HOST)")
    parser.add_argument("--operation-delay", type=float, default=DEFAULT_OPERATION_DELAY)
    parser.add_argument("--seed", type=int, default=vertex_samples.DEFAULT_SEED)
    args = parser.parse_args(argv)
    if not args.storage_host:
        parser.error("no Storage emulator: pass --storage-host or set STORAGE_EMULATOR_HOST")
    if not args.project_number.isdigit():
        parser.error("--project-number must be a number")
    locations = tuple(x.strip() for x in args.locations.split(",") if x.strip())
    writer = GcsExportWriter(storage_url(args.storage_host), args.project)
    app = create_app(writer, args.project, args.project_number, locations,
                     args.operation_delay, args.seed)
    return serve(app, args.port, f"Vertex AI stand-in for projects/{args.project} "
                                 f"({args.project_number}) in {', '.join(locations)}")


if __name__ == "__main__":
    sys.exit(main())
