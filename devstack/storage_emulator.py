"""The Cloud Storage emulator of the local stack (devstack.storage_server) as a managed process."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping

import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess

PROJECT = "test-project"


class StorageEmulator:
    """`with StorageEmulator() as gcs:` runs a storage server on a free loopback port.

    `notify` maps bucket names to URLs that get the buckets' finalize CloudEvents.
    """

    def __init__(
        self,
        notify: Mapping[str, str] | None = None,
        port: int | None = None,
        log_dir: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.host = f"{LOOPBACK}:{self.port}"
        self.endpoint = f"http://{self.host}"
        command = [sys.executable, "-m", "devstack.storage_server", "--port", str(self.port)]
        for bucket, url in (notify or {}).items():
            command += ["--notify", f"{bucket}={url}"]
        self.process = ManagedProcess("storage-emulator", command, log_dir=log_dir)
        self._client: storage.Client | None = None

    def start(self) -> StorageEmulator:
        self.process.start_until_ready(self.port, self._answers_health_check)
        return self

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self) -> StorageEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

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

    def add_notify_target(self, bucket: str, url: str) -> None:
        """Deliver `bucket`'s finalize events to `url` from now on."""
        self._admin("POST", "notify", {"bucket": bucket, "url": url})

    def remove_notify_target(self, bucket: str, url: str | None = None) -> None:
        self._admin("DELETE", "notify", {"bucket": bucket, "url": url})

    def notify_targets(self) -> dict[str, list[str]]:
        """Bucket name -> URLs its finalize events go to."""
        return self._admin("GET", "notify")["targets"]

    def deliveries(self) -> list[dict]:
        """Every finalize event queued so far, with state and attempts (see devstack.eventarc)."""
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
        url = f"{self.endpoint}/_devstack/{path}"
        answer = requests.request(method, url, json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def _answers_health_check(self) -> bool:
        return requests.get(f"{self.endpoint}/", timeout=2).status_code == 200
