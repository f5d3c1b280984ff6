"""Pub/Sub adapter: publish a JSON message and wait for the server's id. The client is
created on first use (no import-time I/O; PUBSUB_EMULATOR_HOST is honoured by the library)."""

from __future__ import annotations

import json
from functools import lru_cache

from google.cloud import pubsub_v1

from labelexport.errors import TransientError

PUBLISH_TIMEOUT_SECONDS = 60


@lru_cache(maxsize=1)
def publisher() -> pubsub_v1.PublisherClient:
    return pubsub_v1.PublisherClient()


def publish_json(topic: str, data: dict, attributes: dict[str, str]) -> str:
    """Publish and wait; returns the message id. Any failure raises TransientError."""
    payload = json.dumps(data).encode("utf-8")
    try:
        return publisher().publish(topic, payload, **attributes).result(
            timeout=PUBLISH_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001
        # Even a missing topic or permission is retried: a result must not be lost while
        # someone mends the configuration, and the event's retry window bounds the wait.
        raise TransientError(f"publishing to {topic} failed: {exc!r}") from exc
