"""REST client of the Data Labeling Service v1beta1 surface that export_labeled_data uses.

Faults are mapped onto the pipeline's two error kinds (`labelexport.google_rest`): 408, 429,
5xx, connection errors and timeouts are `TransientError` (retry later); any other failure is
`PermanentError`, carrying the API's HTTP code, status and message.
"""

from __future__ import annotations

import requests

from labelexport import formats, google_rest
from labelexport.errors import PermanentError
from labelexport.google_rest import (  # noqa: F401 - part of this module's interface
    SCOPES,
    ApiPermanentError,
    ApiTransientError,
    OperationStillRunning,
    is_loopback_http,
)
from labelexport.resource_names import parse_annotated_dataset_name, parse_operation_name

API_VERSION = "v1beta1"
_MIME_TYPES = {"csv": "text/csv", "jsonl": "application/json"}


def export_extension(annotation_type: str, export_format: str) -> str:
    """"csv" or "jsonl": the format an export of this type is written in."""
    if export_format not in _MIME_TYPES:
        raise PermanentError(f"export format must be 'csv' or 'jsonl', not {export_format!r}")
    known = formats.find(annotation_type)
    if known is not None and export_format not in known.file_formats:
        return known.file_formats[0]
    return export_format


def output_config_for(
    annotation_type: str, export_format: str, export_bucket: str, prefix: str
) -> dict:
    """The exportData `outputConfig` writing under gs://export_bucket/prefix/.

    A type whose export is a folder (segmentation: the service names the file inside) goes to
    the folder; every other type to `export.csv` or `export.jsonl`, in the format asked for if
    the type has it, else in the one it has.
    """
    folder = f"gs://{export_bucket}/{prefix.strip('/')}/"
    known = formats.find(annotation_type)
    if known is not None and known.export_to_folder:
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
            self._session = google_rest.new_session(self.endpoint)
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
        return google_rest.wait_for_operation(
            self.get_operation, name, timeout_seconds, initial_delay=initial_delay,
            maximum_delay=maximum_delay, retry_transient_polls=True)

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        return google_rest.call(self.session, method, f"{self.endpoint}/{API_VERSION}/{path}",
                                f"Data Labeling API {method} {path}", body, self.timeout)
