"""The labeling-completion message (docs/contracts.md): our own JSON contract, the same as
attributes, or a forwarded labeling Operation. `annotatedDataset` names a Data Labeling
annotated dataset, `dataset` a Vertex AI dataset: the name chooses the backend, and a message
naming both (or neither) is refused. Anything else is a permanent error; its message quotes at
most a short prefix of what it refuses (`excerpts.quote`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from labelexport import config, formats
from labelexport.errors import ConfigError, PermanentError
from labelexport.excerpts import quote
from labelexport.resource_names import (
    AnnotatedDatasetName,
    VertexDatasetName,
    parse_annotated_dataset_name,
    parse_operation_name,
    parse_vertex_dataset_name,
)

_FIELDS = {"annotatedDataset", "format", "filter", "requestId"}
_VERTEX_FIELDS = {"dataset", "annotationsFilter", "requestId"}
NAME_FIELDS = ("annotatedDataset", "dataset")
_DESTINATION_WORDS = ("bucket", "output", "destination", "uri", "gcs", "folder", "path")
MAX_REQUEST_ID = 128
MAX_FILTER = 4096


class BadMessage(PermanentError):
    """A message that can never start an export; `reason` is a stable code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ExportRequest:
    annotated_dataset: AnnotatedDatasetName | None  # a Data Labeling export's
    format: str | None  # None: EXPORT_FORMAT
    filter: str  # exportData's filter, or Vertex AI's annotationsFilter
    request_id: str | None
    dataset: VertexDatasetName | None = None  # a Vertex AI export's

    @property
    def backend(self) -> str:
        return formats.VERTEX if self.dataset is not None else formats.DATALABELING

    @property
    def name(self) -> str:
        """The resource the export is of."""
        return str(self.dataset if self.dataset is not None else self.annotated_dataset)


def _names(names: Iterable[str]) -> str:
    """A few of the field names a message has, quoted."""
    listed = sorted(names)
    shown = ", ".join(quote(n, 40) for n in listed[:5])
    return shown + (f" and {len(listed) - 5:,} more" if len(listed) > 5 else "")


def _resource(value: object, where: str, parse, shape: str):
    if not isinstance(value, str):
        raise BadMessage("missing_field", f"{where} must be a string {shape}")
    try:
        return parse(value)
    except PermanentError as exc:
        raise BadMessage("bad_resource_name", f"{where}: {exc}") from None


def _annotated(value: object, where: str) -> AnnotatedDatasetName:
    return _resource(value, where, parse_annotated_dataset_name,
                     "projects/P/datasets/D/annotatedDatasets/A")


def _vertex_dataset(value: object, where: str) -> VertexDatasetName:
    return _resource(value, where, parse_vertex_dataset_name, "projects/P/locations/L/datasets/D")


def _known_fields(fields: dict, allowed: set[str], where: str, expected: str) -> None:
    unknown = set(fields) - allowed
    steering = sorted(k for k in unknown if any(w in k.lower() for w in _DESTINATION_WORDS))
    if steering:
        raise BadMessage("destination_not_allowed", f"{where} may not choose where the export "
                         f"goes ({_names(steering)}): it always lands in EXPORT_BUCKET")
    if unknown:
        raise BadMessage("unknown_field", f"{where} has unknown field(s) "
                         f"{_names(unknown)}; {expected} {', '.join(sorted(allowed))}")


def _request(fields: dict, where: str) -> ExportRequest:
    named = [name for name in NAME_FIELDS if fields.get(name) not in (None, "")]
    if len(named) > 1:
        raise BadMessage("ambiguous_dataset", f"{where} names both an annotatedDataset (Data "
                         "Labeling) and a dataset (Vertex AI); name one")
    if named == ["dataset"]:
        return _vertex_request(fields, where)
    _known_fields(fields, _FIELDS, where, "expected")
    fmt = fields.get("format")
    if fmt not in (None, ""):
        try:
            fmt = config.parse_format(fmt if isinstance(fmt, str) and len(fmt) < 10 else "?")
        except ConfigError:
            raise BadMessage("bad_format", f"{where}: format must be 'csv' or 'jsonl', not "
                             f"{quote(fmt)}") from None
    return ExportRequest(_annotated(fields.get("annotatedDataset"), f"{where}.annotatedDataset"),
                         fmt or None, _filter(fields, "filter", where), _request_id(fields, where))


def _request_id(fields: dict, where: str) -> str | None:
    request_id = fields.get("requestId")
    if request_id is not None and (not isinstance(request_id, str) or not request_id
                                   or len(request_id) > MAX_REQUEST_ID):
        raise BadMessage("bad_request_id", f"{where}: requestId must be a non-empty string of "
                         f"at most {MAX_REQUEST_ID} characters")
    return request_id


def _filter(fields: dict, key: str, where: str) -> str:
    value = fields.get(key) or ""
    if not isinstance(value, str) or len(value) > MAX_FILTER or "\n" in value:
        raise BadMessage("bad_filter", f"{where}: {key} must be a string of at most "
                         f"{MAX_FILTER:,} characters on one line")
    return value


def _vertex_request(fields: dict, where: str) -> ExportRequest:
    _known_fields(fields, _VERTEX_FIELDS, where, "a Vertex AI message has")
    return ExportRequest(None, "jsonl", _filter(fields, "annotationsFilter", where),
                         _request_id(fields, where),
                         dataset=_vertex_dataset(fields["dataset"], f"{where}.dataset"))


def _from_operation(operation: dict, attributes: dict[str, str]) -> ExportRequest:
    try:
        parse_operation_name(operation["name"])
    except PermanentError as exc:
        raise BadMessage("bad_resource_name", f"operation name: {exc}") from None
    if operation.get("error"):
        raise BadMessage("labeling_failed", f"the labeling operation {operation['name']} "
                         f"ended in error: {quote(operation['error'])}")
    if operation.get("done") is not True:
        raise BadMessage("labeling_not_done",
                         f"the labeling operation {operation['name']} is not done")
    response = operation.get("response")
    name = response.get("name") if isinstance(response, dict) else None
    extra = {k: v for k, v in attributes.items() if k in ("format", "filter", "requestId")}
    return _request({"annotatedDataset": name, **extra}, "operation response.name")


def parse_completion_message(data: bytes, attributes: dict[str, str]) -> ExportRequest:
    """The export a Pub/Sub message asks for; BadMessage says why it cannot be one."""
    if not data.strip():
        if any(name in attributes for name in NAME_FIELDS):
            return _request(dict(attributes), "message attributes")
        raise BadMessage("empty_message", "the message has no data and no annotatedDataset "
                         "or dataset attribute")
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise BadMessage("not_json", f"message data is not JSON: {quote(data)}") from None
    except RecursionError:
        raise BadMessage("not_json", f"message data is JSON nested too deeply to read "
                         f"({len(data):,} bytes): {quote(data)}") from None
    if not isinstance(body, dict):
        raise BadMessage("not_json_object", "message data must be a JSON object")
    if isinstance(body.get("name"), str) and "/operations/" in body["name"]:
        return _from_operation(body, attributes)
    for name in NAME_FIELDS:
        if name not in body and name in attributes:
            body = {**body, name: attributes[name]}
    if not any(body.get(name) not in (None, "") for name in NAME_FIELDS):
        raise BadMessage("missing_field", "message must name an annotatedDataset (Data "
                         "Labeling) or a dataset (Vertex AI)")
    return _request(body, "message")
