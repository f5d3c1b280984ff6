"""The Eventarc stand-in as a managed process: it pulls fake-gcs-server's Cloud Storage
notifications from its own Pub/Sub subscription and delivers them as CloudEvents
(devstack.eventarc), as Eventarc's storage trigger is fed by a bucket's notifications.

    python -m devstack.eventarc_server --port A --topic projects/P/topics/T \\
        --subscription projects/P/subscriptions/S --storage-endpoint URL \\
        [--target BUCKET=URL ...] [--function-timeout 540]

PUBSUB_EMULATOR_HOST names the Pub/Sub emulator. The topic and the subscription are created
when missing (retrying until the emulator answers); a notification is acknowledged once its
deliveries are delivered or given up, so one the stand-in did not finish comes again.
Admin routes on 127.0.0.1:A: GET /healthz (200 once pulling), GET|POST|DELETE /targets
(`{"bucket", "url"}`), GET /deliveries.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

import requests
from google.api_core import exceptions
from google.cloud import pubsub_v1

from devstack.eventarc import (
    FUNCTION_TIMEOUT_SECONDS,
    EventarcBridge,
    NotDelivered,
    Notification,
    complete_resource,
    missing_fields,
    parse_notification,
)
from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess

log = logging.getLogger("eventarc")
# The subscription's and the stream's deadline; the client extends the lease of what is being
# delivered, so a notification comes again this soon only when the stand-in stopped without
# acknowledging it.
ACK_DEADLINE_SECONDS = 10


def metadata_fetcher(storage_endpoint: str) -> Callable[[Notification], dict]:
    """`complete(notification)`: its object resource, with what it lacks from the object's
    metadata at its generation (none when that generation is gone or Storage does not answer)."""

    def complete(notification: Notification) -> dict:
        missing = missing_fields(notification.resource)
        if not missing:
            return notification.resource
        url = (f"{storage_endpoint}/storage/v1/b/{quote(notification.bucket, safe='')}/o/"
               f"{quote(notification.name, safe='')}")
        try:
            answer = requests.get(url, params={"generation": notification.generation},
                                  timeout=10)
        except requests.RequestException as error:
            log.warning("no metadata for %s: %s", url, error)
            return notification.resource
        if answer.status_code != 200:
            log.info("no metadata for %s#%d (%d): the notification's fields only", url,
                     notification.generation, answer.status_code)
            return notification.resource
        return complete_resource(notification.resource, answer.json())

    return complete


class NotificationConsumer:
    """Streams the subscription into the bridge; acknowledges what the bridge settled."""

    def __init__(self, bridge: EventarcBridge, topic: str, subscription: str) -> None:
        self.bridge, self.topic, self.subscription = bridge, topic, subscription
        self.publisher = pubsub_v1.PublisherClient()
        self.subscriber = pubsub_v1.SubscriberClient()
        # Leases of ACK_DEADLINE_SECONDS, extended for as long as a delivery may take.
        self.flow_control = pubsub_v1.types.FlowControl(
            max_lease_duration=4 * 3600, max_duration_per_lease_extension=ACK_DEADLINE_SECONDS)
        self.pulling = threading.Event()
        self._future = None

    def start(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                try:
                    self.publisher.create_topic(name=self.topic, timeout=5)
                except exceptions.AlreadyExists:
                    pass
                try:
                    self.subscriber.create_subscription(
                        request={"name": self.subscription, "topic": self.topic,
                                 "ack_deadline_seconds": ACK_DEADLINE_SECONDS}, timeout=5)
                except exceptions.AlreadyExists:
                    pass
                break
            except (exceptions.ServiceUnavailable, exceptions.DeadlineExceeded,
                    exceptions.RetryError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self._future = self.subscriber.subscribe(self.subscription, self._received,
                                                 flow_control=self.flow_control)
        self.pulling.set()
        log.info("pulling %s (topic %s)", self.subscription, self.topic)

    def stop(self) -> None:
        if self._future is not None:
            self._future.cancel()

    def _received(self, message) -> None:
        try:
            notification = parse_notification(message.message_id, dict(message.attributes),
                                              message.data)
        except NotDelivered as reason:
            log.info("message %s acknowledged, not delivered: %s", message.message_id, reason)
            message.ack()
            return
        log.info("notification %s: gs://%s/%s#%d", message.message_id, notification.bucket,
                 notification.name, notification.generation)
        self.bridge.notification_received(notification, message.ack)


def _admin_handler(bridge: EventarcBridge, consumer: NotificationConsumer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/healthz":
                ready = consumer.pulling.is_set()
                self._json(200 if ready else 503, {"pulling": ready})
            elif self.path == "/deliveries":
                self._json(200, {"deliveries": bridge.deliveries()})
            elif self.path == "/targets":
                self._json(200, {"targets": bridge.targets()})
            else:
                self._json(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:  # noqa: N802
            body = self._body()
            bridge.add_target(body["bucket"], body["url"])
            self._json(200, {"targets": bridge.targets()})

        def do_DELETE(self) -> None:  # noqa: N802
            body = self._body()
            bridge.remove_target(body["bucket"], body.get("url"))
            self._json(200, {"targets": bridge.targets()})

        def _body(self) -> dict:
            return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _json(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the admin routes are polled: their lines would drown the deliveries

    return Handler


def _target(spec: str) -> tuple[str, str]:
    bucket, sep, url = spec.partition("=")
    if not (bucket and sep and url):
        raise argparse.ArgumentTypeError(f"expected BUCKET=URL, not {spec!r}")
    return bucket, url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--topic", required=True, help="projects/P/topics/T")
    parser.add_argument("--subscription", required=True, help="projects/P/subscriptions/S")
    parser.add_argument("--storage-endpoint", required=True)
    parser.add_argument("--target", type=_target, action="append", default=[],
                        metavar="BUCKET=URL", help="deliver BUCKET's finalize events to URL")
    parser.add_argument("--function-timeout", type=float, default=FUNCTION_TIMEOUT_SECONDS,
                        help="how long an attempt waits for the function (seconds)")
    parser.add_argument("--min-backoff", type=float, default=0.2)
    parser.add_argument("--max-backoff", type=float, default=10.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(message)s")
    if not os.environ.get("PUBSUB_EMULATOR_HOST"):
        parser.error("PUBSUB_EMULATOR_HOST must name the Pub/Sub emulator")

    bridge = EventarcBridge(metadata_fetcher(args.storage_endpoint),
                            min_backoff=args.min_backoff, max_backoff=args.max_backoff,
                            function_timeout=args.function_timeout)
    for bucket, url in args.target:
        bridge.add_target(bucket, url)
    consumer = NotificationConsumer(bridge, args.topic, args.subscription)
    admin = ThreadingHTTPServer((LOOPBACK, args.port), _admin_handler(bridge, consumer))
    admin.daemon_threads = True
    threading.Thread(target=admin.serve_forever, name="admin", daemon=True).start()
    consumer.start()
    try:
        threading.Event().wait()
    finally:
        consumer.stop()
        bridge.stop()


class EventarcStandIn:
    """`with EventarcStandIn(...) as eventarc:` runs the stand-in on a free loopback port."""

    def __init__(
        self,
        pubsub_host: str,
        topic: str,
        subscription: str,
        storage_endpoint: str,
        targets: Mapping[str, str] | None = None,
        function_timeout: float = FUNCTION_TIMEOUT_SECONDS,
        min_backoff: float = 0.2,
        max_backoff: float = 10.0,
        port: int | None = None,
        log_dir: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://{LOOPBACK}:{self.port}"
        self.topic, self.subscription = topic, subscription
        command = [sys.executable, "-m", "devstack.eventarc_server", "--port", self.port,
                   "--topic", topic, "--subscription", subscription,
                   "--storage-endpoint", storage_endpoint,
                   "--function-timeout", f"{function_timeout:g}",
                   "--min-backoff", f"{min_backoff:g}", "--max-backoff", f"{max_backoff:g}"]
        for bucket, url in (targets or {}).items():
            command += ["--target", f"{bucket}={url}"]
        env = {**os.environ, "PUBSUB_EMULATOR_HOST": pubsub_host, "PYTHONUNBUFFERED": "1"}
        self.process = ManagedProcess("eventarc", command, env=env, log_dir=log_dir)

    def start(self, timeout: float = 60.0) -> EventarcStandIn:
        self.process.start_until_ready(self.port, self.is_pulling, timeout)
        return self

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> EventarcStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def is_pulling(self) -> bool:
        return requests.get(f"{self.endpoint}/healthz", timeout=2).status_code == 200

    def add_target(self, bucket: str, url: str) -> None:
        """Deliver `bucket`'s finalize events to `url` from now on."""
        self._admin("POST", "targets", {"bucket": bucket, "url": url})

    def remove_target(self, bucket: str, url: str | None = None) -> None:
        self._admin("DELETE", "targets", {"bucket": bucket, "url": url})

    def targets(self) -> dict[str, list[str]]:
        """Bucket name -> URLs its finalize events go to."""
        return self._admin("GET", "targets")["targets"]

    def deliveries(self) -> list[dict]:
        """Every delivery queued so far, with state and attempts (see devstack.eventarc)."""
        return self._admin("GET", "deliveries")["deliveries"]

    def wait_for_deliveries(
        self, predicate: Callable[[list[dict]], object], timeout: float = 10.0
    ) -> list[dict]:
        """Poll `deliveries()` until `predicate` holds for them; return them."""
        deadline = time.monotonic() + timeout
        while True:
            deliveries = self.deliveries()
            if predicate(deliveries):
                return deliveries
            if time.monotonic() >= deadline:
                raise TimeoutError(f"deliveries did not reach the expected state: {deliveries}")
            time.sleep(0.05)

    def _admin(self, method: str, path: str, body: dict | None = None) -> dict:
        answer = requests.request(method, f"{self.endpoint}/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()


if __name__ == "__main__":
    main()
