"""Child processes of the local stack that cannot outlive the process that started them.

Each `ManagedProcess` runs in its own session (so its whole process group can be signalled),
writes stdout and stderr to a log file, and is stopped by `stop()`, by leaving its `with`
block, at interpreter exit, on SIGTERM, or by the kernel when its parent dies.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from devstack.ports import LOOPBACK, is_listening

_SETPRIV = shutil.which("setpriv")  # util-linux, on every Debian
_running: set[ManagedProcess] = set()
_running_lock = threading.Lock()


class ProcessNotReady(RuntimeError):
    """A process exited, or what was awaited did not happen in time; ends with its log."""


def _dying_with_parent(command: Sequence[str]) -> list[str]:
    """The command, killed by the kernel when its parent (thread) dies. Done by setpriv
    rather than a preexec_fn: Python code between fork and exec in a process that holds
    threads (gRPC's, for one) can hang or abort the child."""
    command = [str(part) for part in command]
    return [_SETPRIV, "--pdeathsig", "KILL", "--", *command] if _SETPRIV else command


class ManagedProcess:
    """A command run in a new process group, logging to `log_path`."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        log_dir: str | os.PathLike[str] | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.stop_signal = stop_signal
        self.command = [str(part) for part in command]
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        log_dir = Path(log_dir or tempfile.mkdtemp(prefix=f"devstack-{name}-"))
        self.log_path = log_dir / f"{name}.log"
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise RuntimeError(f"{self.name} was not started")
        return self._popen.pid

    def start(self) -> ManagedProcess:
        if self._popen is not None:
            raise RuntimeError(f"{self.name} was already started")
        _install_sigterm_exit()
        with open(self.log_path, "ab") as log:
            self._popen = subprocess.Popen(
                _dying_with_parent(self.command),
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with _running_lock:
            _running.add(self)
        return self

    def is_running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def is_gone(self) -> bool:
        """Neither the process nor anything in its process group is alive (zombies are dead)."""
        return not self.is_running() and not group_members(self.pid)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_until(
        self, predicate: Callable[[], object], timeout: float = 30.0, what: str = "ready"
    ) -> None:
        """Poll `predicate` until it is truthy; give up if the process exits first.

        Exceptions from `predicate` count as "not yet"; the last one is reported on timeout.
        Raises ProcessNotReady; the process is left running.
        """
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while True:
            if not self.is_running():
                raise self._not_ready(f"exited (status {self._popen.returncode})")
            try:
                if predicate():
                    return
            except Exception as error:
                last_error = error
            if time.monotonic() >= deadline:
                detail = f" (last error: {last_error!r})" if last_error else ""
                raise self._not_ready(f"was not {what} after {timeout:g} s{detail}")
            time.sleep(0.05)

    def wait_for_port(self, port: int, timeout: float = 30.0, host: str = LOOPBACK) -> None:
        self.wait_until(lambda: is_listening(port, host), timeout, f"listening on {host}:{port}")

    def start_until_ready(
        self, port: int, predicate: Callable[[], object] | None = None, timeout: float = 30.0
    ) -> ManagedProcess:
        """start(), wait for `port` and then `predicate`; stop it again if it never gets there."""
        self.start()
        try:
            self.wait_for_port(port, timeout)
            if predicate is not None:
                self.wait_until(predicate, timeout, "answering")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 5.0) -> None:
        """Signal the whole process group (`stop_signal`), SIGKILL it after `grace` seconds."""
        popen = self._popen
        if popen is None:
            return
        if popen.returncode is None:
            _signal_group(popen.pid, self.stop_signal)
            try:
                popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(popen.pid, signal.SIGKILL)  # stragglers that outlived the leader
        popen.wait()
        deadline = time.monotonic() + 1.0
        while group_members(popen.pid) and time.monotonic() < deadline:
            time.sleep(0.01)  # SIGKILL is delivered asynchronously
        with _running_lock:
            _running.discard(self)

    def _not_ready(self, what: str) -> ProcessNotReady:
        return ProcessNotReady(
            f"{self.name} {what}: {' '.join(self.command)}\n"
            f"--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )

    def __enter__(self) -> ManagedProcess:
        return self if self._popen is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        pid = self._popen.pid if self._popen else None
        return f"ManagedProcess({self.name!r}, pid={pid}, log={str(self.log_path)!r})"


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def group_members(pgid: int) -> list[int]:
    """Pids of the live (not zombie) processes in a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def peak_rss_kb(pgid: int) -> int:
    """The highest peak RSS (VmHWM, KiB) among the live processes of a process group."""
    peak = 0
    for pid in group_members(pgid):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue  # the process ended while we looked
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak


def running() -> list[ManagedProcess]:
    """Every ManagedProcess started and not yet stopped."""
    with _running_lock:
        return list(_running)


@atexit.register
def stop_all() -> None:
    """Stop every process still running; the safety net behind `stop()` and `with`."""
    with _running_lock:
        processes = list(_running)
    for process in processes:
        process.stop(grace=2.0)


def _install_sigterm_exit() -> None:
    # A SIGTERM'd interpreter skips atexit; turn it into SystemExit so stop_all() runs.
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
