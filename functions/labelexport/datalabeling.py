"""REST client of the Data Labeling Service v1beta1 surface that export_labeled_data uses.

Faults are mapped onto the pipeline's two error kinds: 408, 429, 5xx, connection errors and
timeouts are `TransientError` (retry later); any other failure is `PermanentError`, carrying
the API's HTTP code, status and message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.auth import exceptions as auth_exceptions

from labelexport.errors import PermanentError, TransientError
from labelexport.resource_names import parse_annotated_dataset_name, parse_operation_name

API_VERSION = "v1beta1"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_TRANSIENT_HTTP = {408, 429}
_TRANSIENT_TRANSPORT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)

# The guide gives these types a JSONL export only.
_JSONL_ONLY = {"IMAGE_SEGMENTATION_ANNOTATION", "TEXT_ENTITY_EXTRACTION_ANNOTATION"}
_MIME_TYPES = {"csv": "text/csv", "jsonl": "application/json"}


class _ApiErrorAnswer(Exception):
    """An error answer of the API: its HTTP code, Google status (NOT_FOUND...) and message."""

    def __init__(self, message: str, http_status: int, status: str, api_message: str):
        super().__init__(message)
        self.http_status = http_status
        self.status = status
        self.api_message = api_message


class ApiPermanentError(_ApiErrorAnswer, PermanentError):
    """An answer that will not change on retry (400, 401, 403, 404, 409, ...)."""


class ApiTransientError(_ApiErrorAnswer, TransientError):
    """An answer that may change on retry (408, 429, 5xx)."""


class OperationStillRunning(TransientError):
    """The wait for an operation ended before the operation did."""


class _OperationNotDone(Exception):
    """Raised by one poll of an operation that is still running; the retry predicate."""


def is_loopback_http(endpoint: str) -> bool:
    """Whether `endpoint` is plain http on this machine (a local stand-in server)."""
    parts = urlsplit(endpoint)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS


def export_extension(annotation_type: str, export_format: str) -> str:
    """"csv" or "jsonl": the format an export of this type is written in."""
    if export_format not in _MIME_TYPES:
        raise PermanentError(f"export format must be 'csv' or 'jsonl', not {export_format!r}")
    return "jsonl" if annotation_type in _JSONL_ONLY else export_format


def output_config_for(
    annotation_type: str, export_format: str, export_bucket: str, prefix: str
) -> dict:
    """The exportData `outputConfig` writing under gs://export_bucket/prefix/.

    Image segmentation goes to a folder (the service names the file inside); every other
    type to `export.csv` or `export.jsonl`. Segmentation and text entity extraction have
    JSONL only, whatever `export_format` asks for.
    """
    folder = f"gs://{export_bucket}/{prefix.strip('/')}/"
    if annotation_type == "IMAGE_SEGMENTATION_ANNOTATION":
        return {"gcsFolderDestination": {"outputFolderUri": folder}}
    extension = export_extension(annotation_type, export_format)
    return {
        "gcsDestination": {
            "outputUri": f"{folder}export.{extension}",
            "mimeType": _MIME_TYPES[extension],
        }
    }


class DataLabelingClient:
    """Calls `{endpoint}/v1beta1/...`; the HTTP session is created on first use."""

    def __init__(self, endpoint: str, session: requests.Session | None = None, timeout: float = 30):
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self._session = session

    @property
    def session(self) -> requests.Session:
        if self._session is None:
            self._session = _new_session(self.endpoint)
        return self._session

    def get_annotated_dataset(self, name: str) -> dict:
        parsed = parse_annotated_dataset_name(name)
        return self._call("GET", str(parsed))

    def export_data(self, annotated_dataset: str, output_config: dict, filter: str = "") -> dict:
        """Start an export; returns the long-running Operation (usually not done yet)."""
        parsed = parse_annotated_dataset_name(annotated_dataset)
        body = {
            "annotatedDataset": str(parsed),
            "filter": filter,
            "outputConfig": output_config,
        }
        return self._call("POST", f"{parsed.dataset_name}:exportData", body)

    def get_operation(self, name: str) -> dict:
        return self._call("GET", str(parse_operation_name(name)))

    def wait_for_operation(
        self,
        name: str,
        timeout_seconds: float,
        *,
        initial_delay: float = 1.0,
        maximum_delay: float = 30.0,
    ) -> dict:
        """Poll until the operation is done and return it (an `error` in it is the caller's).

        Polls back off exponentially (with jitter); a transient fault of a poll (429, 5xx, a
        timeout) is polled through, not raised. When `timeout_seconds` is up the wait ends
        with OperationStillRunning: the operation goes on, resume later. A permanent answer
        (the operation is unknown: 404, or 403) raises ApiPermanentError.
        """

        def poll() -> dict:
            operation = self.get_operation(name)
            if not operation.get("done"):
                raise _OperationNotDone(name)
            return operation

        retry = api_retry.Retry(
            predicate=api_retry.if_exception_type(_OperationNotDone, TransientError),
            initial=initial_delay,
            maximum=maximum_delay,
            multiplier=2.0,
            timeout=timeout_seconds,
        )
        try:
            return retry(poll)()
        except api_exceptions.RetryError as timeout:
            last = timeout.cause
            state = (f"unreachable ({last})" if isinstance(last, TransientError)
                     else "still running")
            raise OperationStillRunning(
                f"operation {name} {state} after {timeout_seconds:g} s"
            ) from timeout

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        url = f"{self.endpoint}/{API_VERSION}/{path}"
        what = f"Data Labeling API {method} {path}"
        try:
            response = self.session.request(method, url, json=body, timeout=self.timeout)
        except _TRANSIENT_TRANSPORT as error:
            raise TransientError(f"{what}: {type(error).__name__}: {error}") from error
        except requests.RequestException as error:
            raise PermanentError(f"{what}: {type(error).__name__}: {error}") from error
        except auth_exceptions.TransportError as error:
            raise TransientError(f"{what}: cannot reach the token endpoint: {error}") from error
        except auth_exceptions.RefreshError as error:
            kind = TransientError if getattr(error, "retryable", False) else PermanentError
            raise kind(f"{what}: credentials could not be refreshed: {error}") from error
        if response.ok:
            try:
                return response.json()
            except ValueError as error:
                raise TransientError(
                    f"{what}: HTTP {response.status_code} answer is not JSON: "
                    f"{response.text[:200]!r}"
                ) from error
        raise _http_error(what, response)


def _new_session(endpoint: str) -> requests.Session:
    if is_loopback_http(endpoint):
        return requests.Session()
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    try:
        credentials, _ = google.auth.default(scopes=list(SCOPES))
    except auth_exceptions.DefaultCredentialsError as error:
        raise PermanentError(f"no Google credentials to call {endpoint}: {error}") from error
    return AuthorizedSession(credentials)


def _http_error(what: str, response: requests.Response) -> Exception:
    code = response.status_code
    status, api_message = _google_error(response)
    message = f"{what} failed: HTTP {code} {status}: {api_message}"
    if code in _TRANSIENT_HTTP or code >= 500:
        return ApiTransientError(message, code, status, api_message)
    return ApiPermanentError(message, code, status, api_message)


def _google_error(response: requests.Response) -> tuple[str, str]:
    """(status, message) from Google's `{"error": {"code", "message", "status"}}` body."""
    try:
        error: Any = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict):
        status = error.get("status") or response.reason or ""
        return str(status), str(error.get("message") or "")
    return response.reason or "", response.text.strip()[:200]
