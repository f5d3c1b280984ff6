"""Eventarc stand-in: Cloud Storage finalize events delivered as CloudEvents over HTTP.

Each finalized object generation in a watched bucket becomes a
`google.cloud.storage.object.v1.finalized` CloudEvent in binary content mode, POSTed to every
target URL of that bucket, as an Eventarc trigger delivers it to a Cloud Function (2nd gen).
Delivery runs on background threads, one per object and target, so events of one object arrive
in order while a failing object does not hold up others. Non-2xx answers and connection errors
are retried with exponential backoff up to `max_attempts` times or `max_age` seconds: at least
once, with the same `ce-id` on every attempt.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import requests

FINALIZED = "google.cloud.storage.object.v1.finalized"
_NOT_IN_EVENTS = ("acl",)  # object fields Cloud Storage leaves out of notifications


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
    headers: dict[str, str]
    body: bytes
    created: float = field(default_factory=time.time)
    state: str = "pending"  # pending | delivered | failed
    attempts: list[Attempt] = field(default_factory=list)

    def summary(self) -> dict:
        """JSON-friendly view, without the body."""
        view = asdict(self)
        del view["body"]
        return view


def finalized_event(obj: dict) -> tuple[dict[str, str], bytes]:
    """Binary-mode CloudEvent headers and body for a finalized object resource."""
    data = {key: value for key, value in obj.items() if key not in _NOT_IN_EVENTS}
    time_ = obj.get("updated") or datetime.now(UTC).isoformat().replace("+00:00", "Z")
    headers = {
        "ce-id": str(uuid.uuid4()),
        "ce-source": f"//storage.googleapis.com/projects/_/buckets/{obj['bucket']}",
        "ce-specversion": "1.0",
        "ce-type": FINALIZED,
        "ce-subject": f"objects/{obj['name']}",
        "ce-time": time_,
        "Content-Type": "application/json",
    }
    return headers, json.dumps(data).encode()


class EventarcBridge:
    """Turns `object_finalized(obj)` calls into queued, retried CloudEvent deliveries."""

    def __init__(
        self,
        max_attempts: int = 10,
        min_backoff: float = 0.2,
        max_backoff: float = 10.0,
        max_age: float = 600.0,
        request_timeout: float = 60.0,
    ) -> None:
        self.max_attempts = max_attempts
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.max_age = max_age
        self.request_timeout = request_timeout
        self._targets: dict[str, list[str]] = {}
        self._queues: dict[tuple[str, str, str], deque[Delivery]] = {}
        self._log: list[Delivery] = []
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

    def object_finalized(self, obj: dict) -> None:
        """Queue one event per target of the object's bucket; never blocks on delivery."""
        with self._lock:
            urls = list(self._targets.get(obj["bucket"], []))
        for url in urls:
            headers, body = finalized_event(obj)
            self._enqueue(
                Delivery(
                    id=headers["ce-id"],
                    url=url,
                    bucket=obj["bucket"],
                    name=obj["name"],
                    generation=str(obj["generation"]),
                    headers=headers,
                    body=body,
                )
            )

    def stop(self) -> None:
        """Abandon pending retries; workers finish their current request and exit."""
        self._stopping.set()

    def _enqueue(self, delivery: Delivery) -> None:
        key = (delivery.url, delivery.bucket, delivery.name)
        with self._lock:
            self._log.append(delivery)
            queue = self._queues.get(key)
            if queue is not None:
                queue.append(delivery)
                return
            self._queues[key] = deque([delivery])
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
                queue.popleft()

    def _deliver(self, delivery: Delivery) -> None:
        for attempt_number in range(1, self.max_attempts + 1):
            attempt = Attempt(at=time.time())
            try:
                answer = requests.post(
                    delivery.url,
                    data=delivery.body,
                    headers=delivery.headers,
                    timeout=self.request_timeout,
                )
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
