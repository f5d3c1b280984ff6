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
import copy
import os
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from devstack import sample_exports
from devstack.sample_exports import SampleDataset

DEFAULT_OPERATION_DELAY = 0.5
EXPORT_FOLDER_FILE = "export.jsonl"
_TYPE_PREFIX = "type.googleapis.com/google.cloud.datalabeling.v1beta1."
_CREATE_TIME = "2023-11-14T09:30:00Z"
_METHODS = ("getAnnotatedDataset", "exportData", "getOperation")

_HTTP_STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
    501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}
_FAULT_MESSAGES = {
    429: "Quota exceeded for quota metric 'Requests' of service "
         "'datalabeling.googleapis.com'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "The request timed out.",
}
# google.rpc.Code numbers for operation errors.
_RPC_CODES = {"NOT_FOUND": 5, "PERMISSION_DENIED": 7, "INTERNAL": 13}

_BUCKET = r"[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9]"
_OBJECT_URI = re.compile(rf"gs://({_BUCKET})/(.*[^/])")
_FOLDER_URI = re.compile(rf"gs://({_BUCKET})(?:/(.*))?")


class ApiError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def error_body(code: int, message: str) -> dict:
    """Google's JSON error envelope: the HTTP code, the message, the google.rpc.Code name."""
    return {"error": {"code": code, "message": message,
                      "status": _HTTP_STATUS.get(code, "UNKNOWN")}}


# --------------------------------------------------------------------------- storage


class GcsExportWriter:
    """Writes export objects with google-cloud-storage against an emulator, anonymously."""

    def __init__(self, storage_host: str, project: str):
        self.storage_host = storage_host
        self.project = project
        self._client = None
        self._lock = threading.Lock()

    def __call__(self, uri: str, data: bytes, content_type: str) -> None:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        bucket, name = _OBJECT_URI.fullmatch(uri).groups()
        with self._lock:
            if self._client is None:
                self._client = storage.Client(
                    project=self.project,
                    credentials=AnonymousCredentials(),
                    client_options={"api_endpoint": self.storage_host},
                )
            blob = self._client.bucket(bucket).blob(name)
            blob.upload_from_string(data, content_type=content_type)


ExportWriter = Callable[[str, bytes, str], None]


# --------------------------------------------------------------------------- requests


def _fields(obj: Any, names: tuple[str, ...], where: str) -> dict[str, Any]:
    """`obj`'s fields keyed by camelCase name; snake_case spellings are accepted too."""
    if not isinstance(obj, dict):
        raise ApiError(400, f"Invalid JSON payload received. '{where}' must be an object.")
    spellings = {name: name for name in names}
    spellings.update({re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), n): n for n in names})
    found: dict[str, Any] = {}
    for key, value in obj.items():
        name = spellings.get(key)
        if name is None:
            raise ApiError(400, f'Invalid JSON payload received. Unknown name "{key}" '
                                f"at '{where}': Cannot find field.")
        if name in found:
            raise ApiError(400, f"Invalid JSON payload received. Field '{name}' of '{where}' "
                                "is given twice.")
        found[name] = value
    return found


@dataclass(frozen=True)
class ExportRequest:
    sample: SampleDataset
    export_format: str  # "csv" or "jsonl"
    object_uri: str  # where the export is written
    output_config: dict  # as given, in camelCase


def parse_export_request(body: Any, project: str, dataset_id: str) -> ExportRequest:
    fields = _fields(body, ("name", "annotatedDataset", "filter", "outputConfig",
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
    config = _fields(output_config, ("gcsDestination", "gcsFolderDestination"), "output_config")
    if len(config) != 1:
        raise ApiError(400, "output_config must set exactly one of gcs_destination and "
                            "gcs_folder_destination.")
    segmentation = sample.annotation_type == "IMAGE_SEGMENTATION_ANNOTATION"
    if "gcsFolderDestination" in config:
        if not segmentation:
            raise ApiError(400, f"gcs_folder_destination is for image segmentation; use "
                                f"gcs_destination for {sample.annotation_type}.")
        folder = _fields(config["gcsFolderDestination"], ("outputFolderUri",),
                         "output_config.gcs_folder_destination")
        uri = folder.get("outputFolderUri")
        if not isinstance(uri, str) or not _FOLDER_URI.fullmatch(uri):
            raise ApiError(400, f"output_folder_uri must be a gs://bucket/folder URI, "
                                f"not {uri!r}.")
        return ExportRequest(sample, "jsonl", f"{uri.rstrip('/')}/{EXPORT_FOLDER_FILE}",
                             {"gcsFolderDestination": {"outputFolderUri": uri}})
    if segmentation:
        raise ApiError(400, "IMAGE_SEGMENTATION_ANNOTATION exports to a gcs_folder_destination.")
    destination = _fields(config["gcsDestination"], ("outputUri", "mimeType"),
                          "output_config.gcs_destination")
    uri, mime_type = destination.get("outputUri"), destination.get("mimeType")
    if not isinstance(uri, str) or not _OBJECT_URI.fullmatch(uri):
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


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _operation_id() -> str:
    hex_id = uuid.uuid4().hex
    return "_".join((hex_id[:8], hex_id[8:12], hex_id[12:16], hex_id[16:20], hex_id[20:]))


# --------------------------------------------------------------------------- state


@dataclass
class Fault:
    code: int
    method: str | None
    remaining: int


class ServerState:
    """Operations, injected faults and the call record; guarded by one lock."""

    def __init__(self, project: str, writer: ExportWriter, operation_delay: float, seed: int):
        self.project = project
        self.writer = writer
        self.default_delay = operation_delay
        self.seed = seed
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.operation_delay = self.default_delay
            self.operations: dict[str, dict] = {}
            self.faults: list[Fault] = []
            self.export_failures: list[dict] = []
            self.calls: list[dict] = []

    def take_fault(self, method: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.method in (None, method):
                    fault.remaining -= 1
                    return fault
        return None

    def start_export(self, export: ExportRequest) -> dict:
        name = f"projects/{self.project}/operations/{_operation_id()}"
        dataset = export.sample.dataset_name(self.project)
        operation = {
            "name": name,
            "metadata": {
                "@type": _TYPE_PREFIX + "ExportDataOperationMetadata",
                "dataset": dataset,
                "partialFailures": [],
                "createTime": _timestamp(),
            },
        }
        with self.lock:
            self.operations[name] = operation
            answer = copy.deepcopy(operation)  # the worker may complete `operation` any time
            failure = self.export_failures.pop(0) if self.export_failures else None
            delay = self.operation_delay
        worker = threading.Thread(target=self._run_export, args=(name, export, failure, delay),
                                  name=f"export-{name[-12:]}", daemon=True)
        worker.start()
        return answer

    def _run_export(self, name: str, export: ExportRequest, failure: dict | None,
                    delay: float) -> None:
        time.sleep(delay)
        outcome: dict
        if failure is not None:
            outcome = {"error": failure}
        else:
            try:
                outcome = {"response": self._write_export(export)}
            except Exception as error:  # noqa: BLE001 - reported in the operation, as the service does
                outcome = {"error": _storage_error(error, export.object_uri)}
        with self.lock:
            operation = self.operations.get(name)
            if operation is not None:  # not forgotten by a reset meanwhile
                operation.update(done=True, **outcome)

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

    def operation(self, name: str) -> dict | None:
        with self.lock:
            found = self.operations.get(name)
            return None if found is None else copy.deepcopy(found)


def _storage_error(error: Exception, uri: str) -> dict:
    from google.api_core import exceptions as api_exceptions

    if isinstance(error, api_exceptions.NotFound):
        return {"code": _RPC_CODES["NOT_FOUND"],
                "message": f"Cannot write {uri}: the bucket does not exist."}
    if isinstance(error, api_exceptions.Forbidden):
        return {"code": _RPC_CODES["PERMISSION_DENIED"],
                "message": f"Cannot write {uri}: permission denied."}
    return {"code": _RPC_CODES["INTERNAL"], "message": f"Cannot write {uri}: {error}"}


# --------------------------------------------------------------------------- app


def create_app(project: str, writer: ExportWriter,
               operation_delay: float = DEFAULT_OPERATION_DELAY,
               seed: int = sample_exports.DEFAULT_SEED) -> Flask:
    app = Flask(__name__)
    app.json.sort_keys = False  # keep proto field order, as the service does
    state = ServerState(project, writer, operation_delay, seed)
    app.config["STATE"] = state

    def api(method: str, handler: Callable[..., dict]) -> Callable[..., Response]:
        def view(**kwargs: str) -> Response:
            body = request.get_json(force=True, silent=True) if request.data else None
            call = {"method": method, "path": request.path, "body": body}
            code, payload = _answer(state, method, handler, kwargs)
            call["status"] = code
            with state.lock:
                state.calls.append(call)
            return _json(payload, code)

        view.__name__ = method
        return view

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
        if request.get_json(force=True, silent=True) is None:
            raise ApiError(400, "Invalid JSON payload received. The body must be a JSON object.")
        body = request.get_json(force=True)
        return state.start_export(parse_export_request(body, project, dataset_id))

    def get_operation(project_id: str, operation_id: str) -> dict:
        check_project(project_id)
        name = f"projects/{project_id}/operations/{operation_id}"
        found = state.operation(name)
        if found is None:
            raise ApiError(404, f"Operation {name} not found.")
        return found

    base = "/v1beta1/projects/<project_id>"
    app.add_url_rule(f"{base}/datasets/<dataset_id>/annotatedDatasets/<annotated_id>",
                     view_func=api("getAnnotatedDataset", get_annotated_dataset), methods=["GET"])
    app.add_url_rule(f"{base}/datasets/<dataset_id>:exportData",
                     view_func=api("exportData", export_data), methods=["POST"])
    app.add_url_rule(f"{base}/operations/<operation_id>",
                     view_func=api("getOperation", get_operation), methods=["GET"])
    _add_admin_routes(app, state)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return _json(error_body(error.code or 500, error.description or error.name),
                     error.code or 500)

    return app


def _answer(state: ServerState, method: str, handler: Callable[..., dict],
            kwargs: dict) -> tuple[int, dict]:
    fault = state.take_fault(method)
    if fault is not None:
        return fault.code, error_body(fault.code, _FAULT_MESSAGES.get(fault.code, "Fault."))
    try:
        return 200, handler(**kwargs)
    except ApiError as error:
        return error.code, error_body(error.code, error.message)


def _json(payload: Any, code: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = code
    return response


def _add_admin_routes(app: Flask, state: ServerState) -> None:
    def body() -> dict:
        found = request.get_json(silent=True)
        return found if isinstance(found, dict) else {}

    @app.post("/_devstack/faults")
    def add_fault() -> Response:
        args = body()
        code, method = int(args.get("code", 503)), args.get("method")
        if method is not None and method not in _METHODS:
            return _json(error_body(400, f"method must be one of {', '.join(_METHODS)}"), 400)
        if code not in _HTTP_STATUS:
            return _json(error_body(400, f"code must be one of {sorted(_HTTP_STATUS)}"), 400)
        fault = Fault(code, method, int(args.get("count", 1)))
        with state.lock:
            state.faults.append(fault)
        return _json({"code": fault.code, "method": fault.method, "count": fault.remaining})

    @app.post("/_devstack/fail-next-export")
    def fail_next_export() -> Response:
        args = body()
        error = {"code": int(args.get("code", _RPC_CODES["INTERNAL"])),
                 "message": str(args.get("message", "Internal error while exporting data."))}
        with state.lock:
            state.export_failures.extend(dict(error) for _ in range(int(args.get("count", 1))))
        return _json(error)

    @app.post("/_devstack/operation-delay")
    def operation_delay() -> Response:
        seconds = float(body().get("seconds", state.default_delay))
        with state.lock:
            state.operation_delay = seconds
        return _json({"seconds": seconds})

    @app.get("/_devstack/calls")
    def calls() -> Response:
        method = request.args.get("method")
        with state.lock:
            found = [c for c in state.calls if method in (None, c["method"])]
        return _json({"calls": found})

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
        return _json({"annotatedDatasets": entries})

    @app.post("/_devstack/reset")
    def reset() -> Response:
        state.reset()
        return _json({})

    @app.get("/_devstack/healthz")
    def healthz() -> Response:
        return _json({"status": "ok", "project": state.project})


# --------------------------------------------------------------------------- process


class DataLabelingServer:
    """`with DataLabelingServer(storage_endpoint) as server:` runs this module as a managed
    process on a free loopback port; its methods drive the /_devstack controls."""

    def __init__(self, storage_endpoint: str, project: str = "demo-project",
                 operation_delay: float = DEFAULT_OPERATION_DELAY, port: int | None = None,
                 log_dir: str | None = None) -> None:
        from devstack.ports import LOOPBACK, free_port
        from devstack.processes import ManagedProcess

        self.project = project
        self.port = port or free_port()
        self.endpoint = f"http://{LOOPBACK}:{self.port}"
        command = [sys.executable, "-m", "devstack.datalabeling_server", "--port", str(self.port),
                   "--project", project, "--storage-host", storage_endpoint,
                   "--operation-delay", str(operation_delay)]
        self.process = ManagedProcess("datalabeling-server", command, log_dir=log_dir)

    def start(self) -> DataLabelingServer:
        self.process.start_until_ready(self.port, lambda: self._admin("GET", "healthz"))
        return self

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> DataLabelingServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        return {"DATALABELING_ENDPOINT": self.endpoint}

    def inject_fault(self, code: int = 503, count: int = 1, method: str | None = None) -> None:
        self._admin("POST", "faults", {"code": code, "count": count, "method": method})

    def fail_next_export(self, code: int = 13, message: str = "Internal error while exporting "
                         "data.", count: int = 1) -> None:
        self._admin("POST", "fail-next-export", {"code": code, "message": message,
                                                 "count": count})

    def set_operation_delay(self, seconds: float) -> None:
        self._admin("POST", "operation-delay", {"seconds": seconds})

    def calls(self, method: str | None = None) -> list[dict]:
        query = f"?method={method}" if method else ""
        return self._admin("GET", f"calls{query}")["calls"]

    def catalog(self) -> list[dict]:
        return self._admin("GET", "catalog")["annotatedDatasets"]

    def reset(self) -> None:
        self._admin("POST", "reset")

    def _admin(self, method: str, path: str, body: dict | None = None) -> dict:
        import requests

        answer = requests.request(method, f"{self.endpoint}/_devstack/{path}", json=body,
                                  timeout=10)
        answer.raise_for_status()
        return answer.json()


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
    storage_host = args.storage_host
    if "://" not in storage_host:
        storage_host = f"http://{storage_host}"
    writer = GcsExportWriter(storage_host, args.project)
    app = create_app(args.project, writer, args.operation_delay, args.seed)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"Data Labeling stand-in for projects/{args.project} on "
          f"http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
