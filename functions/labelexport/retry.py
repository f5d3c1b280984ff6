"""`labelexport retry`: publish a well-formed labeling-completion message with a fresh
requestId, which makes export_labeled_data start a new, separate run."""

from __future__ import annotations

import uuid

from labelexport import pubsub
from labelexport.resource_names import (
    parse_annotated_dataset_name,
    parse_topic_name,
    parse_vertex_dataset_name,
)


def completion_message(resource: str, fmt: str, annotations_filter: str = "") -> dict:
    """The message for a Data Labeling annotated dataset (projects/P/datasets/D/
    annotatedDatasets/A) or a Vertex AI dataset (projects/P/locations/L/datasets/D)."""
    request_id = f"retry-{uuid.uuid4().hex}"
    if "/locations/" in resource:
        return {"dataset": str(parse_vertex_dataset_name(resource)),
                "annotationsFilter": annotations_filter, "requestId": request_id}
    return {"annotatedDataset": str(parse_annotated_dataset_name(resource)),
            "format": fmt, "filter": annotations_filter, "requestId": request_id}


def publish_retry(resource: str, topic: str, fmt: str,
                  annotations_filter: str = "") -> tuple[str, dict]:
    body = completion_message(resource, fmt, annotations_filter)
    parse_topic_name(topic)
    return pubsub.publish_json(topic, body, {}), body
