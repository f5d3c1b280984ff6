"""Pub/Sub adapter: publish a JSON message and wait for the server's id. The client is
created on first use (no import-time I/O; PUBSUB_EMULATOR_HOST is honoured by the library)."""

from __future__ import annotations

import json
from functools import lru_cache

from google.api_core import exceptions as api_exceptions
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.publisher.exceptions import MessageTooLargeError

from labelexport.errors import PermanentError, TransientError

PUBLISH_TIMEOUT_SECONDS = 60


class MessageRefused(PermanentError):
    """A message Pub/Sub will never take as it is (too large, or invalid): sending it again
    cannot help."""

    reason = "result_unpublishable"


@lru_cache(maxsize=1)
def publisher() -> pubsub_v1.PublisherClient:
    return pubsub_v1.PublisherClient()


def publish_json(topic: str, data: dict, attributes: dict[str, str]) -> str:
    """Publish and wait; returns the message id. A message that can never be published raises
    MessageRefused; any other failure TransientError."""
    payload = json.dumps(data).encode("utf-8")
    try:
        return publisher().publish(topic, payload, **attributes).result(
            timeout=PUBLISH_TIMEOUT_SECONDS)
    except (MessageTooLargeError, api_exceptions.InvalidArgument) as exc:
        raise MessageRefused(f"Pub/Sub refuses the {len(payload):,}-byte message to {topic}: "
                             f"{type(exc).__name__}: {str(exc)[:300]}") from exc
    except Exception as exc:  # noqa: BLE001
        # Even a missing topic or permission is retried: a result must not be lost while
        # someone mends the configuration, and the event's retry window bounds the wait.
        raise TransientError(f"publishing to {topic} failed: {exc!r}"[:2000]) from exc
