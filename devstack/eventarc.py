"""Eventarc stand-in: Cloud Storage notifications in, `google.cloud.storage.object.v1.finalized`
CloudEvents out, delivered over HTTP as an Eventarc trigger delivers them to a function.

A Cloud Storage Pub/Sub notification (attributes eventType, bucketId, objectId,
objectGeneration, payloadFormat, eventTime; data the object resource, JSON_API_V1) becomes a
binary-mode CloudEvent whose data is that object resource and whose id is the notification's
Pub/Sub message id, so every attempt, and every redelivery of the notification, carries the
same `ce-id`. Fields the notification lacks are taken from the object's metadata at that
generation (`complete_resource`).

Delivery runs on background threads, one per object and target, so one object's events arrive
in generation order while a failing object does not hold up others. An attempt waits as long as
the function may run (`function_timeout`: 540 s, the event-driven limit, unless told); non-2xx
answers, timeouts and connection errors are retried with exponential backoff up to
`max_attempts` times or `max_age` seconds: at least once.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import requests

FINALIZED = "google.cloud.storage.object.v1.finalized"
OBJECT_FINALIZE = "OBJECT_FINALIZE"
# The attributes of a notification the stand-in reads (Cloud Storage also sends
# notificationConfig, which fake-gcs-server leaves out and nothing here needs).
NOTIFICATION_ATTRIBUTES = frozenset({"eventType", "bucketId", "objectId", "objectGeneration",
                                     "payloadFormat", "eventTime"})
FUNCTION_TIMEOUT_SECONDS = 540.0  # event-driven functions; infra/variables.tf's default
# What a JSON_API_V1 notification of a finalized object carries of the object resource; the
# resource's acl Cloud Storage leaves out of notifications.
RESOURCE_FIELDS = ("kind", "id", "selfLink", "mediaLink", "name", "bucket", "generation",
                   "metageneration", "contentType", "storageClass", "size", "md5Hash",
                   "crc32c", "etag", "timeCreated", "updated", "timeStorageClassUpdated")
NOT_IN_EVENTS = ("acl",)


class NotDelivered(ValueError):
    """A notification that yields no finalized event (another event type, or malformed)."""


@dataclass(frozen=True)
class Notification:
    """A Cloud Storage OBJECT_FINALIZE notification, checked."""

    message_id: str
    bucket: str
    name: str
    generation: int
    event_time: str | None
    resource: dict  # the object resource of the payload ({} for payloadFormat NONE)


def parse_notification(message_id: str, attributes: dict[str, str], data: bytes) -> Notification:
    """Check a Pub/Sub message against Cloud Storage's notification format."""
    event_type = attributes.get("eventType")
    if event_type != OBJECT_FINALIZE:
        raise NotDelivered(f"eventType {event_type!r}: a finalized trigger takes {OBJECT_FINALIZE}")
    missing = [a for a in ("bucketId", "objectId", "objectGeneration", "payloadFormat")
               if not attributes.get(a)]
    if missing:
        raise NotDelivered(f"notification without {', '.join(missing)}")
    try:
        generation = int(attributes["objectGeneration"])
    except ValueError:
        raise NotDelivered(f"objectGeneration {attributes['objectGeneration']!r}") from None
    resource: dict = {}
    if attributes["payloadFormat"] == "JSON_API_V1":
        try:
            resource = json.loads(data)
        except ValueError as error:
            raise NotDelivered(f"payload is not JSON: {error}") from None
        if not isinstance(resource, dict):
            raise NotDelivered("payload is not an object resource")
    elif attributes["payloadFormat"] != "NONE":
        raise NotDelivered(f"payloadFormat {attributes['payloadFormat']!r}")
    said = {"bucket": attributes["bucketId"], "name": attributes["objectId"],
            "generation": str(generation)}
    for key, value in said.items():
        if key in resource and str(resource[key]) != value:
            raise NotDelivered(f"payload {key} {resource[key]!r} is not the attributes' {value!r}")
    return Notification(message_id, said["bucket"], said["name"], generation,
                        attributes.get("eventTime"), resource)


def missing_fields(resource: dict) -> list[str]:
    return [name for name in RESOURCE_FIELDS if name not in resource]


def complete_resource(resource: dict, fetched: dict | None) -> dict:
    """The notification's object resource, with what it lacks taken from `fetched` (the
    object's metadata at that generation, when it still exists)."""
    extra = {key: value for key, value in (fetched or {}).items()
             if key not in resource and key not in NOT_IN_EVENTS}
    return {**resource, **extra}


def finalized_event(notification: Notification, resource: dict) -> tuple[dict[str, str], bytes]:
    """Binary-mode CloudEvent headers and body, as Eventarc sends a storage event."""
    data = {key: value for key, value in resource.items() if key not in NOT_IN_EVENTS}
    data.update(bucket=notification.bucket, name=notification.name,
                generation=str(notification.generation))
    headers = {
        "ce-id": notification.message_id,
        "ce-source": f"//storage.googleapis.com/projects/_/buckets/{notification.bucket}",
        "ce-specversion": "1.0",
        "ce-type": FINALIZED,
        "ce-subject": f"objects/{notification.name}",
        "ce-time": notification.event_time or str(resource.get("updated", "")),
        "ce-bucket": notification.bucket,
        "Content-Type": "application/json; charset=utf-8",
    }
    return headers, json.dumps(data).encode()


@dataclass
class Attempt:
    at: float
    status: int | None = None  # HTTP status, None when the request did not get an answer
    error: str | None = None


@dataclass
class Delivery:
    """One CloudEvent on its way to one URL, with every attempt made so far."""

    id: str
    url: str
    bucket: str
    name: str
    generation: str
    notification: Notification = field(repr=False)
    created: float = field(default_factory=time.time)
    state: str = "pending"  # pending | delivered | failed
    attempts: list[Attempt] = field(default_factory=list)

    def summary(self) -> dict:
        """JSON-friendly view, without the notification."""
        view = asdict(self)
        del view["notification"]
        return view


class EventarcBridge:
    """Turns notifications into queued, retried CloudEvent deliveries, one per target URL of
    the object's bucket. `complete(notification)` gives the event's object resource."""

    def __init__(
        self,
        complete: Callable[[Notification], dict] = lambda notification: notification.resource,
        max_attempts: int = 10,
        min_backoff: float = 0.2,
        max_backoff: float = 10.0,
        max_age: float = 600.0,
        function_timeout: float = FUNCTION_TIMEOUT_SECONDS,
    ) -> None:
        self.complete = complete
        self.max_attempts = max_attempts
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.max_age = max_age
        self.function_timeout = function_timeout
        self._targets: dict[str, list[str]] = {}
        self._queues: dict[tuple[str, str, str], list[Delivery]] = {}
        self._log: list[Delivery] = []
        self._unsettled: dict[str, tuple[set[str], list[Callable[[], None]]]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def add_target(self, bucket: str, url: str) -> None:
        with self._lock:
            urls = self._targets.setdefault(bucket, [])
            if url not in urls:
                urls.append(url)

    def remove_target(self, bucket: str, url: str | None = None) -> None:
        """Stop notifying `url` (every URL when None) of `bucket`'s events."""
        with self._lock:
            urls = self._targets.get(bucket, [])
            remaining = [] if url is None else [u for u in urls if u != url]
            if remaining:
                self._targets[bucket] = remaining
            else:
                self._targets.pop(bucket, None)

    def targets(self) -> dict[str, list[str]]:
        with self._lock:
            return {bucket: list(urls) for bucket, urls in self._targets.items()}

    def deliveries(self) -> list[dict]:
        with self._lock:
            return [delivery.summary() for delivery in self._log]

    def notification_received(self, notification: Notification,
                              on_settled: Callable[[], None] = lambda: None) -> None:
        """Queue one delivery per target of the bucket; `on_settled()` once all are delivered
        or given up (at once when there is no target). Never blocks on delivery. A
        notification received again while its deliveries are under way adds no delivery."""
        with self._lock:
            unsettled = self._unsettled.get(notification.message_id)
            if unsettled is not None:
                unsettled[1].append(on_settled)
                return
            urls = list(self._targets.get(notification.bucket, []))
            if urls:
                self._unsettled[notification.message_id] = (set(urls), [on_settled])
        if not urls:
            on_settled()
            return
        for url in urls:
            self._enqueue(Delivery(notification.message_id, url, notification.bucket,
                                   notification.name, str(notification.generation),
                                   notification))

    def stop(self) -> None:
        """Abandon pending retries; workers finish their current request and exit."""
        self._stopping.set()

    def _enqueue(self, delivery: Delivery) -> None:
        key = (delivery.url, delivery.bucket, delivery.name)
        with self._lock:
            self._log.append(delivery)
            queue = self._queues.get(key)
            if queue is not None:
                # Generation order, behind the delivery under way (queue[0]).
                position = bisect.bisect(queue, int(delivery.generation), lo=1,
                                         key=lambda d: int(d.generation))
                queue.insert(position, delivery)
                return
            self._queues[key] = [delivery]
        name = f"eventarc {delivery.bucket}/{delivery.name}"
        threading.Thread(target=self._drain, args=(key,), name=name, daemon=True).start()

    def _drain(self, key: tuple[str, str, str]) -> None:
        while True:
            with self._lock:
                queue = self._queues[key]
                if not queue or self._stopping.is_set():
                    del self._queues[key]
                    return
                delivery = queue[0]
            self._deliver(delivery)
            with self._lock:
                queue.pop(0)
            self._settled(delivery)

    def _settled(self, delivery: Delivery) -> None:
        with self._lock:
            urls, callbacks = self._unsettled[delivery.id]
            urls.discard(delivery.url)
            if urls:
                return
            del self._unsettled[delivery.id]
        for callback in callbacks:
            callback()

    def _deliver(self, delivery: Delivery) -> None:
        headers, body = finalized_event(delivery.notification,
                                        self.complete(delivery.notification))
        for attempt_number in range(1, self.max_attempts + 1):
            attempt = Attempt(at=time.time())
            try:
                answer = requests.post(delivery.url, data=body, headers=headers,
                                       timeout=(10.0, self.function_timeout))
                attempt.status = answer.status_code
            except requests.RequestException as error:
                attempt.error = f"{type(error).__name__}: {error}"
            with self._lock:
                delivery.attempts.append(attempt)
                if attempt.status is not None and 200 <= attempt.status < 300:
                    delivery.state = "delivered"
                    return
            backoff = min(self.max_backoff, self.min_backoff * 2 ** (attempt_number - 1))
            too_old = time.time() + backoff - delivery.created > self.max_age
            if too_old or attempt_number == self.max_attempts or self._stopping.wait(backoff):
                break
        with self._lock:
            delivery.state = "failed"
