"""`labelexport retry`: publish a well-formed labeling-completion message with a fresh
requestId, which makes export_labeled_data start a new, separate run."""

from __future__ import annotations

import uuid

from labelexport import pubsub
from labelexport.resource_names import parse_annotated_dataset_name, parse_topic_name


def completion_message(annotated_dataset: str, fmt: str) -> dict:
    return {"annotatedDataset": str(parse_annotated_dataset_name(annotated_dataset)),
            "format": fmt, "filter": "", "requestId": f"retry-{uuid.uuid4().hex}"}


def publish_retry(annotated_dataset: str, topic: str, fmt: str) -> tuple[str, dict]:
    body = completion_message(annotated_dataset, fmt)
    parse_topic_name(topic)
    return pubsub.publish_json(topic, body, {}), body
