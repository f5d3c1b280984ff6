"""A function served by the real `functions-framework` command, as a managed process."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import requests

from devstack.ports import LOOPBACK, free_port
from devstack.processes import ManagedProcess

FUNCTIONS_FRAMEWORK = Path(sys.executable).parent / "functions-framework"


class FunctionsServer:
    """`functions-framework --target T --source S --signature-type ...` on a free loopback port.

    `source` is the function's main.py or the folder holding it. The process gets the current
    environment plus `env`. Its stdout and stderr (the function's log lines) are in
    `log_text()`; `json_logs()` parses the JSON ones.
    """

    def __init__(
        self,
        target: str,
        source: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        signature_type: str = "cloudevent",
        port: int | None = None,
        log_dir: str | None = None,
    ) -> None:
        self.target = target
        source = Path(source).resolve()
        if source.is_dir():
            source = source / "main.py"
        self.port = port or free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        command = [FUNCTIONS_FRAMEWORK, "--target", target, "--source", source]
        command += ["--signature-type", signature_type, "--host", LOOPBACK, "--port", self.port]
        process_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        # SIGINT: gunicorn's quick shutdown; on SIGTERM it waits out idle keep-alive connections.
        self.process = ManagedProcess(
            f"function-{target}", command, process_env, log_dir=log_dir, stop_signal=signal.SIGINT
        )

    def start(self) -> FunctionsServer:
        self.process.start_until_ready(self.port, self._answers_http)
        return self

    def stop(self) -> None:
        # gunicorn at times ignores the signal while a push connection is open: kill after 1 s.
        self.process.stop(grace=1.0)

    def __enter__(self) -> FunctionsServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_text(self) -> str:
        return self.process.log_text()

    def json_logs(self) -> list[dict]:
        """The log lines that are JSON objects (structured logs), parsed, in order."""
        entries = []
        for line in self.log_text().splitlines():
            if line.startswith("{"):
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return entries

    def wait_for_log(self, predicate: Callable[[dict], object], timeout: float = 10.0) -> dict:
        """Wait for a JSON log entry that satisfies `predicate`; return the first one."""
        found: list[dict] = []

        def logged() -> bool:
            found[:] = [entry for entry in self.json_logs() if predicate(entry)]
            return bool(found)

        self.process.wait_until(logged, timeout, what="logging the expected entry")
        return found[0]

    def _answers_http(self) -> bool:
        requests.get(self.url, timeout=2)  # any answer: a cloudevent function rejects a GET
        return True
