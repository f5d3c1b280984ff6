"""Debian's Chromium, headless, as the report tests run it (`make chromium` installs it).

Each call is one browser: a fresh profile and HOME in a folder of the test's own, no network
of its own doing, and no process of it left when the call returns.
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import time
import uuid
import zlib
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-quic", "--hide-scrollbars", "--force-device-scale-factor=1"]
TIMEOUT = 60.0
_MARK = "LABELEXPORT_TEST_CHROMIUM"  # in the environment of every process of one browser


def executable() -> str:
    found = shutil.which("chromium")
    assert found, "Debian's chromium is not installed: run `make chromium` (as root)"
    return found


def _processes_marked(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"{_MARK}={mark}".encode() in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def run(url: str, folder: Path, *args: str) -> subprocess.CompletedProcess:
    """Chromium on `url` with FLAGS and `args`; its profile and HOME under `folder`."""
    mark = uuid.uuid4().hex
    home = folder / "chromium-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
           "LANG": "C.UTF-8", _MARK: mark}
    command = [executable(), *FLAGS, f"--user-data-dir={folder / 'chromium-profile'}", *args,
               url]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        _reap(mark)
    return subprocess.CompletedProcess(command, process.returncode, stdout.decode(),
                                       stderr.decode())


def _reap(mark: str) -> None:
    """Helpers (the crash handler, in a session of its own) end just after the browser: wait
    for them, and fail if any outlives the grace."""
    deadline = time.monotonic() + 10
    while (left := _processes_marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not left, f"chromium processes outlived the browser: {left}"


def dump_dom(path: Path, folder: Path) -> str:
    """The DOM of a local page after Chromium loaded and laid it out."""
    done = run(path.as_uri(), folder, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(path: Path, folder: Path, png: Path, width: int, height: int) -> bytes:
    done = run(path.as_uri(), folder, f"--screenshot={png}", f"--window-size={width},{height}")
    assert done.returncode == 0 and png.exists(), done.stderr[-2000:]
    return png.read_bytes()


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB or RGBA PNG, as Chromium writes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and colour in (2, 6), f"unexpected PNG kind {depth}/{colour}"
    step = 3 if colour == 2 else 4
    position, idat = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        if kind == b"IDAT":
            idat += data[position + 8:position + 8 + length]
        position += 12 + length
    raw, stride = zlib.decompress(idat), width * step
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            up, corner = previous[x], previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                near = min((abs(guess - left), 0, left), (abs(guess - up), 1, up),
                           (abs(guess - corner), 2, corner))
                line[x] = (line[x] + near[2]) & 0xFF
        rows.append(bytes(line) if step == 3 else
                    b"".join(bytes(line[i:i + 3]) for i in range(0, stride, 4)))
        previous = line
    return width, height, rows


def colour_count(rows: list[bytes], rgb: str) -> int:
    """How many pixels are exactly colour `rgb` ("#0072B2")."""
    pixel = bytes.fromhex(rgb.lstrip("#"))
    return sum(row[i:i + 3] == pixel for row in rows for i in range(0, len(row), 3))
