"""Calls to Google's JSON REST APIs, shared by the Data Labeling and the Vertex AI clients.

Faults are mapped onto the pipeline's two error kinds: 408, 429, 5xx, connection errors and
timeouts are `TransientError` (retry later); any other failure is `PermanentError`, carrying
the API's HTTP code, status and message. A plain-http endpoint on this machine (a local
stand-in) is called without credentials, any other with Application Default Credentials.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.auth import exceptions as auth_exceptions

from labelexport.errors import PermanentError, TransientError

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
_TRANSIENT_HTTP = {408, 429}
_TRANSIENT_TRANSPORT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


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
    """The wait for an operation ended before the operation did: resume following it later."""


class _OperationNotDone(Exception):
    """Raised by one poll of an operation that is still running; the retry predicate."""


def is_loopback_http(endpoint: str) -> bool:
    """Whether `endpoint` is plain http on this machine (a local stand-in server)."""
    parts = urlsplit(endpoint)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS


def new_session(endpoint: str) -> requests.Session:
    """A plain session for a loopback http endpoint, else one with Google credentials."""
    if is_loopback_http(endpoint):
        return requests.Session()
    import google.auth
    from google.auth.transport.requests import AuthorizedSession

    try:
        credentials, _ = google.auth.default(scopes=list(SCOPES))
    except auth_exceptions.DefaultCredentialsError as error:
        raise PermanentError(f"no Google credentials to call {endpoint}: {error}") from error
    return AuthorizedSession(credentials)


def call(session: requests.Session, method: str, url: str, what: str,
         body: dict | None = None, timeout: float = 30) -> dict:
    """The JSON answer of one call; `what` names the call in error messages."""
    try:
        response = session.request(method, url, json=body, timeout=timeout)
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


def wait_for_operation(
    get_operation: Callable[[str], dict],
    name: str,
    timeout_seconds: float,
    *,
    initial_delay: float,
    maximum_delay: float,
    retry_transient_polls: bool,
) -> dict:
    """Poll `get_operation(name)` until the operation is done and return it (an `error` in
    it is the caller's).

    Polls back off exponentially (with jitter). A poll that fails with TransientError ends the
    wait at once, or with `retry_transient_polls` is retried like a poll of a running
    operation. When `timeout_seconds` is up the wait ends with TransientError ("... still
    running", or unreachable with the last poll's error): the operation goes on, resume later.
    """

    def poll() -> dict:
        operation = get_operation(name)
        if not operation.get("done"):
            raise _OperationNotDone(name)
        return operation

    retried = (_OperationNotDone, TransientError) if retry_transient_polls else (
        _OperationNotDone,)
    retry = api_retry.Retry(
        predicate=api_retry.if_exception_type(*retried),
        initial=initial_delay,
        maximum=maximum_delay,
        multiplier=2.0,
        timeout=timeout_seconds,
    )
    try:
        return retry(poll)()
    except api_exceptions.RetryError as timeout:
        if isinstance(timeout.cause, TransientError):
            raise OperationStillRunning(
                f"operation {name} unreachable for {timeout_seconds:g} s, not followed to its "
                f"end; the last poll failed: {timeout.cause}"
            ) from timeout
        raise OperationStillRunning(
            f"operation {name} still running after {timeout_seconds:g} s"
        ) from timeout


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
