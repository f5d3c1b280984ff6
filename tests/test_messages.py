"""The completion message names a Vertex AI dataset or a Data Labeling annotated dataset; the
name chooses the backend, and every other message is refused with a stable reason."""

from __future__ import annotations

import json

import pytest
from labelexport import formats
from labelexport.messages import BadMessage, parse_completion_message

VERTEX = "projects/my-project/locations/us-central1/datasets/4000000000000000020"
DLS = "projects/my-project/datasets/flowers/annotatedDatasets/boxes"


def _parse(body: dict | bytes, **attributes: str):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_completion_message(data, attributes)


def test_a_dataset_chooses_vertex_ai():
    request = _parse({"dataset": VERTEX, "annotationsFilter": "labels.x=y", "requestId": "r1"})
    assert request.backend == formats.VERTEX and request.name == VERTEX
    assert request.filter == "labels.x=y" and request.request_id == "r1"
    assert request.format == "jsonl" and request.annotated_dataset is None


def test_an_annotated_dataset_chooses_data_labeling():
    request = _parse({"annotatedDataset": DLS, "format": "csv"})
    assert request.backend == formats.DATALABELING and request.name == DLS


def test_the_dataset_may_come_as_an_attribute():
    assert _parse(b"", dataset=VERTEX).backend == formats.VERTEX
    assert _parse({"requestId": "r2"}, dataset=VERTEX).request_id == "r2"


@pytest.mark.parametrize(("body", "reason", "words"), [
    ({"dataset": VERTEX, "annotatedDataset": DLS}, "ambiguous_dataset", "name one"),
    ({"requestId": "r"}, "missing_field", "annotatedDataset"),
    ({"dataset": "projects/my-project/locations/us central1/datasets/1"}, "bad_resource_name",
     "region"),
    ({"dataset": "projects/my-project/locations/us-central1/datasets/flowers"},
     "bad_resource_name", "numeric"),
    ({"dataset": "projects/my-project/locations/us-central1/datasets/1/../2"},
     "bad_resource_name", "projects/P/locations/L/datasets/D"),
    ({"dataset": VERTEX, "outputUriPrefix": "gs://elsewhere/"}, "destination_not_allowed",
     "EXPORT_BUCKET"),
    ({"dataset": VERTEX, "format": "csv"}, "unknown_field", "a Vertex AI message has"),
    ({"dataset": 42}, "missing_field", "projects/P/locations/L/datasets/D"),
    ({"dataset": VERTEX, "annotationsFilter": "a\nb"}, "bad_filter", "one line"),
    ({"dataset": VERTEX, "requestId": ""}, "bad_request_id", "requestId"),
])
def test_a_wrong_vertex_message_is_refused_with_a_reason(body, reason, words):
    with pytest.raises(BadMessage) as refused:
        _parse(body)
    assert refused.value.reason == reason and words in str(refused.value), str(refused.value)
