"""Shared fixtures: an isolated environment and the local stack's processes (devstack)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
FIXTURE_FUNCTIONS = Path(__file__).resolve().parent / "fixture_functions"
sys.path.insert(0, str(FUNCTIONS_DIR))  # so that tests can `import main`

from labelexport.config import ENV_VARS  # noqa: E402

from devstack import processes  # noqa: E402
from devstack.functions_server import FunctionsServer  # noqa: E402
from devstack.pubsub_emulator import PubSubEmulator  # noqa: E402
from devstack.storage_emulator import StorageEmulator  # noqa: E402

# Variables that would point code at real Google Cloud, an outside emulator or other settings.
ISOLATED_ENV_VARS = (
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "GCLOUD_PROJECT",
    "PUBSUB_EMULATOR_HOST",
    "STORAGE_EMULATOR_HOST",
    *ENV_VARS,
)

# Processes that live for the whole session; the per-test leftover check skips them.
_session_processes: set[processes.ManagedProcess] = set()


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch):
    """Unset everything in ISOLATED_ENV_VARS; a test sets what it needs with monkeypatch."""
    for name in ISOLATED_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """Fail a test whose processes (other than the session's emulators) outlive it."""
    before = set(processes.running())
    yield
    leftovers = [p for p in processes.running() if p not in before | _session_processes]
    for process in leftovers:
        process.stop()
    assert not leftovers, f"processes left running after the test: {leftovers}"


@pytest.fixture
def unique_name():
    """unique_name("bucket") -> "bucket-1a2b3c4d": names that no other test uses."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def _storage_emulator_session():
    with StorageEmulator() as emulator:
        _session_processes.update(emulator.processes)
        yield emulator
    _session_processes.difference_update(emulator.processes)


@pytest.fixture
def storage_emulator(_storage_emulator_session):
    """The session's Storage emulator. Buckets stay: give them unique names (see `unique_name`)."""
    return _storage_emulator_session


@pytest.fixture(scope="session")
def _pubsub_emulator_session():
    with PubSubEmulator() as emulator:
        _session_processes.add(emulator.process)
        yield emulator
    _session_processes.discard(emulator.process)


@pytest.fixture
def pubsub_emulator(_pubsub_emulator_session):
    """The session's Pub/Sub emulator; subscriptions created by the test are deleted after it.

    Topics stay: give them unique names (see `unique_name`).
    """
    emulator = _pubsub_emulator_session
    before = list(emulator.subscriptions)
    yield emulator
    for path in [p for p in emulator.subscriptions if p not in before]:
        emulator.delete_subscription(path)


@pytest.fixture
def functions_server():
    """Factory: functions_server(target, source=..., env=..., signature_type=...) -> a started
    FunctionsServer (source defaults to tests/fixture_functions); all are stopped after the
    test, and the test fails if any of their processes survived."""
    started: list[FunctionsServer] = []

    def start(target, source=FIXTURE_FUNCTIONS, env=None, signature_type="cloudevent"):
        server = FunctionsServer(target, source, env, signature_type)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
    survivors = [server.process for server in started if not server.process.is_gone()]
    assert not survivors, f"function processes still alive after stop(): {survivors}"
