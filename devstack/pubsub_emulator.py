"""Google's Pub/Sub emulator from the installed Cloud SDK, run as one managed process."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from google.api_core.exceptions import DeadlineExceeded
from google.cloud import pubsub_v1
from google.protobuf.duration_pb2 import Duration
from google.pubsub_v1.services.publisher.transports.grpc import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports.grpc import SubscriberGrpcTransport

from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess

DEFAULT_SDK_ROOT = "/usr/lib/google-cloud-sdk"
LAUNCHER = Path("platform/pubsub-emulator/bin/cloud-pubsub-emulator")
INSTALL_HINT = (
    "install it with `apt-get install google-cloud-cli-pubsub-emulator "
    "openjdk-17-jre-headless` or `gcloud components install pubsub-emulator` (plus a Java 11+ "
    "runtime)"
)


class EmulatorNotInstalled(RuntimeError):
    """The Pub/Sub emulator or the Java runtime it needs is missing."""


@functools.cache
def sdk_root() -> Path:
    """CLOUDSDK_ROOT_DIR, else what `gcloud info` says, else the Debian package's location."""
    if os.environ.get("CLOUDSDK_ROOT_DIR"):
        return Path(os.environ["CLOUDSDK_ROOT_DIR"])
    gcloud = shutil.which("gcloud")
    if gcloud:
        try:
            answer = subprocess.run(
                [gcloud, "info", "--format=value(installation.sdk_root)"],
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )
            if answer.stdout.strip():
                return Path(answer.stdout.strip())
        except (subprocess.SubprocessError, OSError):
            pass
    return Path(DEFAULT_SDK_ROOT)


def emulator_launcher() -> Path:
    """The emulator's launcher script; raises EmulatorNotInstalled naming what is missing."""
    launcher = sdk_root() / LAUNCHER
    if not launcher.is_file():
        raise EmulatorNotInstalled(f"no Pub/Sub emulator at {launcher}: {INSTALL_HINT}")
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not Path(java).is_file():
        raise EmulatorNotInstalled(f"the Pub/Sub emulator needs Java, none found: {INSTALL_HINT}")
    return launcher


@dataclass(frozen=True)
class PulledMessage:
    data: bytes
    attributes: dict[str, str]
    message_id: str
    delivery_attempt: int  # 0 unless the subscription has a dead-letter policy
    publish_time: object = field(repr=False, default=None)


def _seconds(value: float) -> Duration:
    duration = Duration()
    duration.FromNanoseconds(int(value * 1e9))
    return duration


class PubSubEmulator:
    """`with PubSubEmulator() as pubsub:` runs the emulator on a free loopback port."""

    def __init__(self, port: int | None = None, log_dir: str | None = None) -> None:
        self.port = port or free_port()
        self.host = f"{LOOPBACK}:{self.port}"
        command = [emulator_launcher(), f"--host={LOOPBACK}", f"--port={self.port}"]
        self.process = ManagedProcess("pubsub-emulator", command, log_dir=log_dir)
        self._publisher: pubsub_v1.PublisherClient | None = None
        self._subscriber: pubsub_v1.SubscriberClient | None = None
        self.subscriptions: list[str] = []  # paths of the subscriptions created here, in order

    def start(self) -> PubSubEmulator:
        self.process.start_until_ready(self.port, self._answers_admin_call)
        return self

    def stop(self) -> None:
        for client in (self._publisher, self._subscriber):
            if client is not None:
                client.transport.close()
        self._publisher = self._subscriber = None
        self.process.stop()

    def __enter__(self) -> PubSubEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        return {"PUBSUB_EMULATOR_HOST": self.host}

    def publisher(self) -> pubsub_v1.PublisherClient:
        """A publisher for the emulator that needs no environment and no credentials."""
        if self._publisher is None:
            channel = grpc.insecure_channel(self.host)
            self._publisher = pubsub_v1.PublisherClient(
                transport=PublisherGrpcTransport(channel=channel)
            )
        return self._publisher

    def subscriber(self) -> pubsub_v1.SubscriberClient:
        if self._subscriber is None:
            channel = grpc.insecure_channel(self.host)
            self._subscriber = pubsub_v1.SubscriberClient(
                transport=SubscriberGrpcTransport(channel=channel)
            )
        return self._subscriber

    def create_topic(self, project: str, topic: str) -> str:
        """Create the topic; return its path `projects/P/topics/T`."""
        path = pubsub_v1.PublisherClient.topic_path(project, topic)
        self.publisher().create_topic(name=path)
        return path

    def create_pull_subscription(
        self,
        project: str,
        subscription: str,
        topic: str,
        ack_deadline: int = 10,
        dead_letter_topic: str | None = None,
        max_delivery_attempts: int = 5,
    ) -> str:
        """Create a pull subscription to `topic` (a name or a path); return its path."""
        return self._create_subscription(
            project,
            subscription,
            topic,
            ack_deadline,
            dead_letter_topic=dead_letter_topic,
            max_delivery_attempts=max_delivery_attempts,
        )

    def create_push_subscription(
        self,
        project: str,
        subscription: str,
        topic: str,
        push_endpoint: str,
        ack_deadline: int = 10,
        min_backoff: float = 10.0,
        max_backoff: float = 600.0,
        dead_letter_topic: str | None = None,
        max_delivery_attempts: int = 5,
    ) -> str:
        """Create a push subscription with a retry policy (and a dead-letter policy when
        `dead_letter_topic` is given); return its path. Backoffs are in seconds."""
        return self._create_subscription(
            project,
            subscription,
            topic,
            ack_deadline,
            push_config={"push_endpoint": push_endpoint},
            retry_policy={
                "minimum_backoff": _seconds(min_backoff),
                "maximum_backoff": _seconds(max_backoff),
            },
            dead_letter_topic=dead_letter_topic,
            max_delivery_attempts=max_delivery_attempts,
        )

    def publish(self, topic_path: str, data: bytes, **attributes: str) -> str:
        """Publish one message and wait for its message id."""
        return self.publisher().publish(topic_path, data, **attributes).result(timeout=30)

    def pull(
        self,
        subscription: str,
        max_messages: int = 10,
        timeout: float = 10.0,
        min_messages: int = 1,
        ack: bool = True,
    ) -> list[PulledMessage]:
        """Pull until `min_messages` arrived (at most `max_messages`) or `timeout` passed."""
        deadline = time.monotonic() + timeout
        messages: list[PulledMessage] = []
        while len(messages) < min_messages and time.monotonic() < deadline:
            try:  # the emulator answers at once, with no messages if it has none
                answer = self.subscriber().pull(
                    subscription=subscription,
                    max_messages=max_messages - len(messages),
                    timeout=max(0.5, deadline - time.monotonic()),
                    retry=None,
                )
            except DeadlineExceeded:
                break
            if ack and answer.received_messages:
                self.subscriber().acknowledge(
                    subscription=subscription,
                    ack_ids=[received.ack_id for received in answer.received_messages],
                )
            messages += [
                PulledMessage(
                    data=received.message.data,
                    attributes=dict(received.message.attributes),
                    message_id=received.message.message_id,
                    delivery_attempt=received.delivery_attempt,
                    publish_time=received.message.publish_time,
                )
                for received in answer.received_messages
            ]
            if not answer.received_messages:
                time.sleep(0.05)
        return messages

    def _create_subscription(
        self,
        project: str,
        subscription: str,
        topic: str,
        ack_deadline: int,
        dead_letter_topic: str | None,
        max_delivery_attempts: int,
        **settings: object,
    ) -> str:
        path = pubsub_v1.SubscriberClient.subscription_path(project, subscription)
        request = {
            "name": path,
            "topic": self._topic_path(project, topic),
            "ack_deadline_seconds": ack_deadline,
            **settings,
        }
        if dead_letter_topic:
            request["dead_letter_policy"] = {
                "dead_letter_topic": self._topic_path(project, dead_letter_topic),
                "max_delivery_attempts": max_delivery_attempts,
            }
        self.subscriber().create_subscription(request=request)
        self.subscriptions.append(path)
        return path

    def delete_subscription(self, path: str) -> None:
        """Delete a subscription (a push one stops pushing)."""
        self.subscriber().delete_subscription(subscription=path)
        self.subscriptions.remove(path)

    @staticmethod
    def _topic_path(project: str, topic: str) -> str:
        if topic.startswith("projects/"):
            return topic
        return pubsub_v1.PublisherClient.topic_path(project, topic)

    def _answers_admin_call(self) -> bool:
        self.publisher().list_topics(project="projects/devstack-probe", timeout=2)
        return True
