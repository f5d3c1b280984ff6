"""What the local stand-ins of Google's REST APIs (Data Labeling, Vertex AI) share.

Google's JSON error envelope, request bodies read as proto3 JSON (camelCase or snake_case,
unknown fields refused), long-running operations completed on a background thread, faults on
demand, a record of the calls, exports written into the Storage emulator, the /_devstack
test controls every stand-in has, and the managed process that runs one.
"""

from __future__ import annotations

import copy
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

# HTTP code -> the google.rpc.Code name Google's APIs answer with.
HTTP_STATUS = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
    501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}
# google.rpc.Code numbers for operation errors.
RPC_CODES = {"INVALID_ARGUMENT": 3, "NOT_FOUND": 5, "PERMISSION_DENIED": 7, "INTERNAL": 13}
_FAULT_MESSAGES = {
    429: "Quota exceeded for quota metric 'Requests' of service '{service}'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "The request timed out.",
}

BUCKET = r"[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9]"
OBJECT_URI = re.compile(rf"gs://({BUCKET})/(.*[^/])")


class ApiError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def error_body(code: int, message: str) -> dict:
    """Google's JSON error envelope: the HTTP code, the message, the google.rpc.Code name."""
    return {"error": {"code": code, "message": message,
                      "status": HTTP_STATUS.get(code, "UNKNOWN")}}


def fault_message(code: int, service: str) -> str:
    return _FAULT_MESSAGES.get(code, "Fault.").format(service=service)


def timestamp() -> str:
    """Now as a proto3 JSON Timestamp, in milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def request_fields(obj: Any, names: tuple[str, ...], where: str) -> dict[str, Any]:
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

        bucket, name = OBJECT_URI.fullmatch(uri).groups()
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


def storage_error(error: Exception, uri: str) -> dict:
    """The google.rpc.Status an export ends in when writing `uri` failed with `error`."""
    from google.api_core import exceptions as api_exceptions

    if isinstance(error, api_exceptions.NotFound):
        return {"code": RPC_CODES["NOT_FOUND"],
                "message": f"Cannot write {uri}: the bucket does not exist."}
    if isinstance(error, api_exceptions.Forbidden):
        return {"code": RPC_CODES["PERMISSION_DENIED"],
                "message": f"Cannot write {uri}: permission denied."}
    return {"code": RPC_CODES["INTERNAL"], "message": f"Cannot write {uri}: {error}"}


# --------------------------------------------------------------------------- state


@dataclass
class Fault:
    code: int
    method: str | None
    remaining: int


class StandInState:
    """Operations, injected faults, export failures and the call record; one lock guards them.

    `service` names the API in fault messages; `methods` are the API methods faults may aim at.
    """

    def __init__(self, service: str, methods: tuple[str, ...], writer: ExportWriter,
                 operation_delay: float, seed: int):
        self.service = service
        self.methods = methods
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

    def start_operation(self, operation: dict) -> tuple[dict, dict | None, float]:
        """Record a new operation; (a copy to answer with, the failure it is to end in if one
        was asked for: {"error": google.rpc.Status, "writtenFiles": how many files to write
        first}, the delay before it completes)."""
        with self.lock:
            self.operations[operation["name"]] = operation
            answer = copy.deepcopy(operation)  # the worker may complete `operation` any time
            failure = self.export_failures.pop(0) if self.export_failures else None
            return answer, failure, self.operation_delay

    def complete_later(self, name: str, delay: float, outcome: Callable[[], dict]) -> None:
        """After `delay`, merge `outcome()` (`error` or `response`, maybe `metadata`) into the
        operation and mark it done, on a background thread."""

        def run() -> None:
            time.sleep(delay)
            fields = outcome()
            with self.lock:
                operation = self.operations.get(name)
                if operation is not None:  # not forgotten by a reset meanwhile
                    operation.update(done=True, **fields)

        threading.Thread(target=run, name=f"export-{name[-12:]}", daemon=True).start()

    def operation(self, name: str) -> dict | None:
        with self.lock:
            found = self.operations.get(name)
            return None if found is None else copy.deepcopy(found)


# --------------------------------------------------------------------------- app


def api_view(state: StandInState, method: str,
             handler: Callable[..., dict]) -> Callable[..., Response]:
    """A Flask view for API method `method`: an injected fault or the handler's answer, an
    ApiError as Google's error envelope; every call recorded."""

    def view(**kwargs: str) -> Response:
        body = request.get_json(force=True, silent=True) if request.data else None
        call = {"method": method, "path": request.path, "query": request.query_string.decode(),
                "body": body}
        fault = state.take_fault(method)
        if fault is not None:
            code, payload = fault.code, error_body(fault.code,
                                                   fault_message(fault.code, state.service))
        else:
            try:
                code, payload = 200, handler(**kwargs)
            except ApiError as error:
                code, payload = error.code, error_body(error.code, error.message)
        call["status"] = code
        with state.lock:
            state.calls.append(call)
        return json_response(payload, code)

    view.__name__ = method
    return view


def json_body() -> dict:
    """The request's JSON object; ApiError 400 if it is not one."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid JSON payload received. The body must be a JSON object.")
    return body


def json_response(payload: Any, code: int = 200) -> Response:
    response = jsonify(payload)
    response.status_code = code
    return response


def new_app(name: str) -> Flask:
    """A Flask app answering unknown routes and methods with Google's error envelope."""
    app = Flask(name)
    app.json.sort_keys = False  # keep proto field order, as the services do

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return json_response(error_body(error.code or 500, error.description or error.name),
                             error.code or 500)

    return app


def add_admin_routes(app: Flask, state: StandInState) -> None:
    """The test controls every stand-in has, under /_devstack."""

    def body() -> dict:
        found = request.get_json(silent=True)
        return found if isinstance(found, dict) else {}

    @app.post("/_devstack/faults")
    def add_fault() -> Response:
        args = body()
        code, method = int(args.get("code", 503)), args.get("method")
        if method is not None and method not in state.methods:
            return json_response(
                error_body(400, f"method must be one of {', '.join(state.methods)}"), 400)
        if code not in HTTP_STATUS:
            return json_response(error_body(400, f"code must be one of {sorted(HTTP_STATUS)}"),
                                 400)
        fault = Fault(code, method, int(args.get("count", 1)))
        with state.lock:
            state.faults.append(fault)
        return json_response({"code": fault.code, "method": fault.method,
                              "count": fault.remaining})

    @app.post("/_devstack/fail-next-export")
    def fail_next_export() -> Response:
        args = body()
        error = {"code": int(args.get("code", RPC_CODES["INTERNAL"])),
                 "message": str(args.get("message", "Internal error while exporting data."))}
        failure = {"error": error, "writtenFiles": int(args.get("writtenFiles", 0))}
        with state.lock:
            state.export_failures.extend(copy.deepcopy(failure)
                                         for _ in range(int(args.get("count", 1))))
        return json_response(failure)

    @app.post("/_devstack/operation-delay")
    def operation_delay() -> Response:
        seconds = float(body().get("seconds", state.default_delay))
        with state.lock:
            state.operation_delay = seconds
        return json_response({"seconds": seconds})

    @app.get("/_devstack/calls")
    def calls() -> Response:
        method = request.args.get("method")
        with state.lock:
            found = [c for c in state.calls if method in (None, c["method"])]
        return json_response({"calls": found})

    @app.post("/_devstack/reset")
    def reset() -> Response:
        state.reset()
        return json_response({})


def serve(app: Flask, port: int, banner: str) -> int:
    """Serve `app` on 127.0.0.1:port (0: any free port) until SIGTERM or Ctrl-C."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print(f"{banner} on http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def storage_url(storage_host: str) -> str:
    return storage_host if "://" in storage_host else f"http://{storage_host}"


# --------------------------------------------------------------------------- process


class StandInProcess:
    """A stand-in module run as a managed process on a free loopback port (`with ... as
    server:`); its methods drive the /_devstack controls every stand-in has."""

    def __init__(self, name: str, module: str, arguments: list[str], port: int | None,
                 log_dir: str | None) -> None:
        from devstack.ports import LOOPBACK, free_port
        from devstack.processes import ManagedProcess

        self.port = port or free_port()
        self.endpoint = f"http://{LOOPBACK}:{self.port}"
        command = [sys.executable, "-m", module, "--port", str(self.port), *arguments]
        self.process = ManagedProcess(name, command, log_dir=log_dir)

    def start(self):
        self.process.start_until_ready(self.port, lambda: self._admin("GET", "healthz"))
        return self

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def inject_fault(self, code: int = 503, count: int = 1, method: str | None = None) -> None:
        self._admin("POST", "faults", {"code": code, "count": count, "method": method})

    def fail_next_export(self, code: int = 13, message: str = "Internal error while exporting "
                         "data.", count: int = 1, **extra: Any) -> None:
        self._admin("POST", "fail-next-export", {"code": code, "message": message,
                                                 "count": count, **extra})

    def set_operation_delay(self, seconds: float) -> None:
        self._admin("POST", "operation-delay", {"seconds": seconds})

    def calls(self, method: str | None = None) -> list[dict]:
        query = f"?method={method}" if method else ""
        return self._admin("GET", f"calls{query}")["calls"]

    def reset(self) -> None:
        self._admin("POST", "reset")

    def _admin(self, method: str, path: str, body: dict | None = None) -> dict:
        import requests

        answer = requests.request(method, f"{self.endpoint}/_devstack/{path}", json=body,
                                  timeout=10)
        answer.raise_for_status()
        return answer.json()
