"""Parses the CloudEvents the functions receive (binary or structured mode, as
functions-framework hands them over) into plain values; nothing here does I/O."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from labelexport.errors import PermanentError
from labelexport.excerpts import quote

STORAGE_FINALIZED = "google.cloud.storage.object.v1.finalized"
PUBSUB_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
MAX_ID_CHARS = 256  # of an event id or a message id (Pub/Sub's are some 16 digits)


class MalformedEvent(PermanentError):
    """An event that can never be processed: acknowledged and reported, never retried."""

    reason = "malformed_event"


@dataclass(frozen=True)
class StorageObjectEvent:
    event_id: str
    time: datetime | None
    bucket: str
    name: str
    generation: int
    size: int | None
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"


@dataclass(frozen=True)
class PubSubMessageEvent:
    event_id: str
    time: datetime | None
    message_id: str
    data: bytes
    attributes: dict[str, str]
    publish_time: datetime | None


def attribute(event: Any, name: str) -> Any:
    try:
        return event[name]
    except (KeyError, TypeError):
        return None


def _data(event: Any) -> dict:
    data = getattr(event, "data", None)
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise MalformedEvent(f"event data is not JSON: {exc}") from None
        except RecursionError:
            raise MalformedEvent("event data is JSON nested too deeply to read") from None
    if not isinstance(data, dict):
        raise MalformedEvent("event data is missing or not a JSON object")
    return data


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (as CloudEvents and Cloud Storage write them), else None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in text:  # Python wants at most 6 fractional digits
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a Z, as Google's APIs write timestamps."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _int64(data: dict, name: str, required: bool) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise MalformedEvent(f"storage event has no {name}")
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise MalformedEvent(f"storage event {name} is not an integer: {quote(value)}") from None


def parse_storage_event(event: Any) -> StorageObjectEvent:
    kind = attribute(event, "type")
    if kind != STORAGE_FINALIZED:
        raise MalformedEvent(f"expected a {STORAGE_FINALIZED} event, got {quote(kind)}")
    data = _data(event)
    bucket, name = data.get("bucket"), data.get("name")
    if not isinstance(bucket, str) or not bucket or not isinstance(name, str) or not name:
        raise MalformedEvent("storage event data has no bucket or object name")
    metadata = data.get("metadata")
    return StorageObjectEvent(
        event_id=str(attribute(event, "id") or "")[:MAX_ID_CHARS],
        time=parse_time(attribute(event, "time")) or parse_time(data.get("updated")),
        bucket=bucket,
        name=name,
        generation=_int64(data, "generation", required=True),
        size=_int64(data, "size", required=False),
        metadata=metadata if isinstance(metadata, dict) else {},
    )


def parse_pubsub_event(event: Any) -> PubSubMessageEvent:
    kind = attribute(event, "type")
    if kind != PUBSUB_PUBLISHED:
        raise MalformedEvent(f"expected a {PUBSUB_PUBLISHED} event, got {quote(kind)}")
    message = _data(event).get("message")
    if not isinstance(message, dict):
        raise MalformedEvent("Pub/Sub event data has no message")
    message_id = message.get("messageId") or message.get("message_id")
    if not message_id:
        raise MalformedEvent("Pub/Sub message has no messageId")
    if len(str(message_id)) > MAX_ID_CHARS:
        raise MalformedEvent(f"Pub/Sub messageId is longer than {MAX_ID_CHARS} characters: "
                             f"{quote(str(message_id))}")
    try:
        payload = base64.b64decode(message.get("data") or "", validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise MalformedEvent("Pub/Sub message data is not base64") from None
    attributes = message.get("attributes") or {}
    return PubSubMessageEvent(
        event_id=str(attribute(event, "id") or "")[:MAX_ID_CHARS],
        time=parse_time(attribute(event, "time")),
        message_id=str(message_id),
        data=payload,
        attributes={str(k): str(v) for k, v in attributes.items()}
        if isinstance(attributes, dict) else {},
        publish_time=parse_time(message.get("publishTime") or message.get("publish_time")),
    )
