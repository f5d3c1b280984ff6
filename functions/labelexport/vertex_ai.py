"""REST client of the Vertex AI v1 surface that export_labeled_data uses: datasets.get,
datasets.export and the export's long-running operation.

Vertex AI is regional: a dataset is called on its location's host, the endpoint template
(VERTEX_ENDPOINT) with `{location}` replaced by the dataset's location. A template without
`{location}` (a local stand-in) serves every location. Faults are mapped onto the pipeline's
two error kinds as in `labelexport.google_rest`: 408, 429, 5xx, connection errors and timeouts
are `TransientError`; 400, 403, 404 and any other failure are `PermanentError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from labelexport import google_rest
from labelexport.config import DEFAULT_VERTEX_ENDPOINT
from labelexport.errors import ConfigError, PermanentError
from labelexport.resource_names import parse_vertex_dataset_name, parse_vertex_operation_name

DEFAULT_ENDPOINT = DEFAULT_VERTEX_ENDPOINT  # VERTEX_ENDPOINT's default, defined with the settings
API_VERSION = "v1"
_TYPES = "type.googleapis.com/google.cloud.aiplatform.v1."
EXPORT_METADATA_TYPE = _TYPES + "ExportDataOperationMetadata"
EXPORT_RESPONSE_TYPE = _TYPES + "ExportDataResponse"

_BUCKET = r"[a-z0-9][a-z0-9._\-]{1,220}[a-z0-9]"
_OUTPUT_URI_PREFIX = re.compile(rf"gs://{_BUCKET}(?:/[^\s\x00-\x1f\x7f?#*\[\]]*)?")


def check_endpoint_template(template: str) -> str:
    """The template without a trailing slash; ConfigError unless it is an http(s) base URL
    with `{location}`, if anywhere, in its host name."""
    base = template.rstrip("/")
    parts = urlsplit(base.replace("{location}", "us-central1"))
    host_part = urlsplit(base).netloc
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.path
            or parts.query or parts.fragment or base.count("{location}") > 1
            or ("{location}" in base and "{location}" not in host_part)):
        raise ConfigError(
            "VERTEX_ENDPOINT must be an http(s) base URL such as "
            f"{DEFAULT_ENDPOINT}, with {{location}} in the host name if anywhere; "
            f"got {template!r}")
    return base


def check_output_uri_prefix(value: object) -> str:
    """A `gs://bucket/folder/` URI; PermanentError otherwise."""
    if (not isinstance(value, str) or not _OUTPUT_URI_PREFIX.fullmatch(value)
            or ".." in value.split("/")):
        raise PermanentError(
            f"output URI prefix must be a gs://bucket/folder/ URI; got {value!r}")
    return value


class VertexAIClient:
    """Calls `{endpoint for the location}/v1/...`; the HTTP session is created on first use."""

    def __init__(self, endpoint: str = DEFAULT_ENDPOINT,
                 session: requests.Session | None = None, timeout: float = 30):
        self.endpoint = check_endpoint_template(endpoint)
        self.timeout = timeout
        self._session = session

    def endpoint_for(self, location: str) -> str:
        return self.endpoint.replace("{location}", location)

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = google_rest.new_session(self.endpoint_for("us-central1"))
        return self._session

    def get_dataset(self, name: str) -> dict:
        """The Dataset: `displayName`, `metadataSchemaUri`, ..."""
        parsed = parse_vertex_dataset_name(name)
        return self._call("GET", parsed.location, str(parsed))

    def export_data(self, dataset: str, output_uri_prefix: str,
                    annotations_filter: str = "") -> dict:
        """Start datasets.export into a new folder under `output_uri_prefix`; returns the
        long-running Operation (usually not done yet)."""
        parsed = parse_vertex_dataset_name(dataset)
        if not isinstance(annotations_filter, str):
            raise PermanentError(
                f"annotationsFilter must be a string; got {annotations_filter!r}")
        body = {"exportConfig": {
            "gcsDestination": {"outputUriPrefix": check_output_uri_prefix(output_uri_prefix)},
            "annotationsFilter": annotations_filter,
        }}
        return self._call("POST", parsed.location, f"{parsed}:export", body)

    def get_operation(self, name: str) -> dict:
        parsed = parse_vertex_operation_name(name)
        return self._call("GET", parsed.location, str(parsed))

    def wait_for_operation(
        self,
        name: str,
        timeout_seconds: float,
        *,
        initial_delay: float = 1.0,
        maximum_delay: float = 30.0,
    ) -> dict:
        """Poll until the operation is done and return it (an `error` in it is the caller's).

        Polls back off exponentially (with jitter); a poll that fails with a transient error
        is retried the same way, a permanent one raises. When `timeout_seconds` is up the
        wait ends with TransientError: the operation goes on, resume later.
        """
        return google_rest.wait_for_operation(
            self.get_operation, name, timeout_seconds, initial_delay=initial_delay,
            maximum_delay=maximum_delay, retry_transient_polls=True)

    def _call(self, method: str, location: str, path: str, body: dict | None = None) -> dict:
        url = f"{self.endpoint_for(location)}/{API_VERSION}/{path}"
        return google_rest.call(self.session, method, url, f"Vertex AI API {method} {path}",
                                body, self.timeout)


@dataclass(frozen=True)
class ExportOutcome:
    """What a done datasets.export operation says."""

    error: dict | None  # google.rpc.Status {code, message, details} when the export failed
    exported_files: tuple[str, ...]  # gs:// URIs, in the service's order
    partial_failures: tuple[dict, ...]  # google.rpc.Status each
    output_directory: str | None  # gcsOutputDirectory, ends with "/"


def export_outcome(operation: dict) -> ExportOutcome:
    """Read a done export operation; PermanentError if it is not one."""
    name = operation.get("name") if isinstance(operation, dict) else None
    if not isinstance(operation, dict) or not operation.get("done"):
        raise PermanentError(f"operation {name!r} is not done")
    metadata = operation.get("metadata") or {}
    if metadata and metadata.get("@type") != EXPORT_METADATA_TYPE:
        raise PermanentError(f"operation {name} is not a datasets.export operation: "
                             f"metadata {metadata.get('@type')!r}")
    generic = metadata.get("genericMetadata") or {}
    failures = tuple(generic.get("partialFailures") or ())
    directory = metadata.get("gcsOutputDirectory") or None
    if "error" in operation:
        return ExportOutcome(dict(operation["error"]), (), failures, directory)
    response = operation.get("response") or {}
    if response.get("@type") != EXPORT_RESPONSE_TYPE:
        raise PermanentError(f"operation {name} answered {response.get('@type')!r}, not "
                             "an ExportDataResponse")
    files = response.get("exportedFiles") or []
    if not all(isinstance(uri, str) and uri.startswith("gs://") for uri in files):
        raise PermanentError(f"operation {name}: exportedFiles must be gs:// URIs: {files!r}")
    return ExportOutcome(None, tuple(files), failures, directory)
