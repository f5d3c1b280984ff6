"""Google Cloud resource names used by the pipeline, parsed and checked.

Every id that ends up in a URL or an object path is restricted to letters, digits, `_`, `.`
and `-` (no slashes, no `..`), and bounded by what Google allows, so that a name always fits
in a result attribute (Pub/Sub: 1,024 bytes):

- a project id has 6 to 30 lowercase letters, digits or hyphens, starts with a letter and does
  not end with a hyphen; it may carry a domain prefix (`example.com:my-project`, at most 63);
- a topic id has 3 to 255 characters and starts with a letter (Pub/Sub's own rule);
- any other id (dataset, annotated dataset, operation) has 1 to 128 characters (Google
  documents no bound for them; this one keeps a whole name under 400 bytes).
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


def _match(pattern: re.Pattern[str], value: object, what: str, shape: str) -> dict[str, str]:
    found = pattern.fullmatch(value) if isinstance(value, str) else None
    if found is None or any(".." in part for part in found.groupdict().values()):
        raise PermanentError(
            f"{what} must look like {shape}: a project id of 6 to 30 lowercase letters, "
            f"digits or '-', other ids of letters, digits, '_', '.' or '-' (at most "
            f"{MAX_ID_CHARS}); got {quote(value)}"
        )
    return found.groupdict()


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
