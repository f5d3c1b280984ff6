"""Google Cloud resource names used by the pipeline, parsed and checked.

Every id that ends up in a URL or an object path is restricted to letters, digits, `_`, `.`
and `-` (no slashes, no `..`), and bounded by what Google allows, so that a name always fits
in a result attribute (Pub/Sub: 1,024 bytes):

- a project id has 6 to 30 lowercase letters, digits or hyphens, starts with a letter and does
  not end with a hyphen; it may carry a domain prefix (`example.com:my-project`, at most 63);
- a topic id has 3 to 255 characters and starts with a letter (Pub/Sub's own rule);
- any other id (dataset, annotated dataset, operation) has 1 to 128 characters (Google
  documents no bound for them; this one keeps a whole name under 400 bytes).

Vertex AI names are stricter still, as Vertex AI makes them: a project id (no domain prefix)
or a project number, a region name (it becomes part of the API's host name), numeric dataset
and operation ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labelexport.errors import PermanentError
from labelexport.excerpts import quote

MAX_ID_CHARS = 128
_ID = rf"[A-Za-z0-9][A-Za-z0-9_.\-]{{0,{MAX_ID_CHARS - 1}}}"
_PROJECT = r"(?:[a-z0-9][a-z0-9.\-]{0,61}[a-z0-9]:)?[a-z][a-z0-9\-]{4,28}[a-z0-9]"
_TOPIC_ID = r"[A-Za-z][A-Za-z0-9_.~+%\-]{2,254}"

_ANNOTATED_DATASET = re.compile(
    rf"projects/(?P<project>{_PROJECT})/datasets/(?P<dataset>{_ID})"
    rf"/annotatedDatasets/(?P<annotated_dataset>{_ID})"
)
_OPERATION = re.compile(rf"projects/(?P<project>{_PROJECT})/operations/(?P<operation>{_ID})")
_TOPIC = re.compile(rf"projects/(?P<project>{_PROJECT})/topics/(?P<topic>{_TOPIC_ID})")

_INT64_MAX = 2**63 - 1
_NUMERIC_ID = r"[1-9][0-9]{0,18}"
_VERTEX_PROJECT = rf"[a-z][a-z0-9\-]{{4,28}}[a-z0-9]|{_NUMERIC_ID}"
_REGION = r"[a-z]+(?:-[a-z]+)+[0-9]{1,2}"
_VERTEX_LOCATION = rf"projects/(?P<project>{_VERTEX_PROJECT})/locations/(?P<location>{_REGION})"
_VERTEX_DATASET = re.compile(rf"{_VERTEX_LOCATION}/datasets/(?P<dataset>{_NUMERIC_ID})")
_VERTEX_OPERATION = re.compile(
    rf"{_VERTEX_LOCATION}/(?:datasets/(?P<dataset>{_NUMERIC_ID})/)?"
    rf"operations/(?P<operation>{_NUMERIC_ID})"
)
_VERTEX_RULES = ("with P a project id or number, L a region such as us-central1 and "
                 "numeric ids")


@dataclass(frozen=True)
class AnnotatedDatasetName:
    project: str
    dataset: str
    annotated_dataset: str

    @property
    def dataset_name(self) -> str:
        """`projects/P/datasets/D`: the resource exportData is called on."""
        return f"projects/{self.project}/datasets/{self.dataset}"

    def __str__(self) -> str:
        return f"{self.dataset_name}/annotatedDatasets/{self.annotated_dataset}"


@dataclass(frozen=True)
class OperationName:
    project: str
    operation: str

    def __str__(self) -> str:
        return f"projects/{self.project}/operations/{self.operation}"


@dataclass(frozen=True)
class TopicName:
    project: str
    topic: str

    def __str__(self) -> str:
        return f"projects/{self.project}/topics/{self.topic}"


@dataclass(frozen=True)
class VertexDatasetName:
    project: str  # id or number
    location: str
    dataset: str

    def __str__(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/datasets/{self.dataset}"


@dataclass(frozen=True)
class VertexOperationName:
    project: str
    location: str
    dataset: str | None  # the dataset an operation of datasets.export belongs to
    operation: str

    def __str__(self) -> str:
        parent = f"projects/{self.project}/locations/{self.location}"
        if self.dataset is not None:
            parent += f"/datasets/{self.dataset}"
        return f"{parent}/operations/{self.operation}"


_ID_RULES = (f"with a project id of 6 to 30 lowercase letters, digits or '-', other ids of "
             f"letters, digits, '_', '.' or '-' (at most {MAX_ID_CHARS})")


def _match(pattern: re.Pattern[str], value: object, what: str, shape: str,
           rules: str = _ID_RULES) -> dict[str, str]:
    found = pattern.fullmatch(value) if isinstance(value, str) else None
    if found is None or any(".." in part for part in found.groupdict().values() if part):
        raise PermanentError(f"{what} must look like {shape} {rules}; got {quote(value)}")
    return found.groupdict()


def _match_vertex(pattern: re.Pattern[str], value: object, what: str,
                  shape: str) -> dict[str, str]:
    parts = _match(pattern, value, what, shape, _VERTEX_RULES)
    for key in ("project", "dataset", "operation"):
        if (parts.get(key) or "a").isdigit() and int(parts[key]) > _INT64_MAX:
            raise PermanentError(f"{what}: {key} id {parts[key]} is too large; got {value!r}")
    return parts


def parse_annotated_dataset_name(value: object) -> AnnotatedDatasetName:
    shape = "projects/P/datasets/D/annotatedDatasets/A"
    return AnnotatedDatasetName(
        **_match(_ANNOTATED_DATASET, value, "annotated dataset name", shape)
    )


def parse_operation_name(value: object) -> OperationName:
    return OperationName(
        **_match(_OPERATION, value, "operation name", "projects/P/operations/O")
    )


def parse_topic_name(value: object) -> TopicName:
    return TopicName(**_match(_TOPIC, value, "topic name", "projects/P/topics/T"))


def parse_vertex_dataset_name(value: object) -> VertexDatasetName:
    return VertexDatasetName(**_match_vertex(
        _VERTEX_DATASET, value, "Vertex AI dataset name", "projects/P/locations/L/datasets/D"))


def parse_vertex_operation_name(value: object) -> VertexOperationName:
    return VertexOperationName(**_match_vertex(
        _VERTEX_OPERATION, value, "Vertex AI operation name",
        "projects/P/locations/L/[datasets/D/]operations/O"))
