"""Splits a large local export on two cores, with the very bytes one core would write.

Each half of the file (cut at a line end) is split by its own process into a folder of its own;
the halves' files are then joined, first half first, so rows keep their order. An item's split
is fixed by its first row, which for an item of both halves is in the first: the join is exact
when every item the halves share went to the same split in both. When one did not (an item's
explicit ML use changes between halves), the file is split again on one core.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labelexport import report
from labelexport.line_reader import read_lines
from labelexport.outputs import Discard, LocalFolder, Outputs
from labelexport.router import Counts
from labelexport.splitter import (
    Settled,
    SplitJob,
    finish,
    output_files,
    sample_rows,
    settle,
    split_export,
    split_rows,
)

MIN_PARALLEL_BYTES = 64 << 20  # below this, starting processes costs more than it saves
_COPY_BYTES = 8 << 20


class _Range:
    """A binary stream over [start, end) of a file."""

    def __init__(self, path: str, start: int, end: int):
        self._file = open(path, "rb")
        self._file.seek(start)
        self._left = end - start

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        data = self._file.read(self._left if size < 0 else min(size, self._left))
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class _Half:
    path: str
    start: int
    end: int
    first_line: int
    folder: str | None  # None: validate only


_progress = None  # bytes read by the workers: a shared counter each inherits from the pool


def _share_progress(counter) -> None:
    global _progress
    _progress = counter


def _split_half(half: _Half, settled: Settled, job: SplitJob) -> tuple:
    stream = _Range(half.path, half.start, half.end)

    def count(nbytes: int) -> None:
        with _progress.get_lock():
            _progress.value += nbytes

    try:
        blocks = read_lines(stream, on_bytes=count, first_line=half.first_line)
        outputs = LocalFolder(half.folder) if half.folder else Discard()
        router, _ = split_rows([(None, blocks)], settled, job, outputs)
    finally:
        stream.close()
    return router.counts(), router.index


def _cut(path: str, size: int) -> tuple[int, int] | None:
    """A line end near the middle of the file and the number of the line after it; None if
    there is none within 1 MiB."""
    with open(path, "rb") as file:
        file.seek(size // 2)
        newline = file.read(1 << 20).find(b"\n")
        if newline < 0 or size // 2 + newline + 1 >= size:
            return None
        cut = size // 2 + newline + 1
        file.seek(0)
        lines, left = 0, cut
        while left:
            chunk = file.read(min(_COPY_BYTES, left))
            lines += chunk.count(b"\n")
            left -= len(chunk)
    return cut, lines + 1


def _append(target: Path, source: Path) -> None:
    with open(target, "r+b") as out, open(source, "rb") as extra:
        end = out.seek(0, os.SEEK_END)
        try:  # in the kernel, without passing the bytes through this process
            while os.copy_file_range(extra.fileno(), out.fileno(), _COPY_BYTES):
                pass
        except (AttributeError, OSError):  # not Linux, or a file system that cannot
            out.truncate(end)
            out.seek(end)
            extra.seek(0)
            shutil.copyfileobj(extra, out, _COPY_BYTES)


def _usable_cpus() -> int:
    """The CPUs this process may run on (a container's or taskset's limit, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _thread_count() -> int | None:
    """The threads of this process, C-level ones included; None where that cannot be known."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def _pool_context(threads: int | None) -> multiprocessing.context.BaseContext:
    """Where the workers come from. Forking a process that holds other threads (a test runner,
    a client library) can leave a child waiting forever on a lock one of them held: then they
    are forked from a clean one-thread server, which first imports this package again. A
    process of one thread forks them itself, with everything imported already."""
    if threads == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["labelexport.parallel"])
    return context


def split_local_export(path: str, job: SplitJob, dest: str | None,
                       on_bytes: Callable[[int], None] | None = None) -> dict:
    """Like splitter.split_export on a local file into a local folder (or, dest None, a
    validation that writes nothing), on two processes when the file is large enough."""
    size = os.path.getsize(path)
    outputs: Outputs = LocalFolder(dest) if dest else Discard()
    cut = _cut(path, size) if size >= MIN_PARALLEL_BYTES and _usable_cpus() > 1 else None
    if cut is None:
        with open(path, "rb") as stream:
            return split_export(stream, job, outputs, on_bytes)
    with open(path, "rb") as stream:
        ahead, sample = sample_rows(read_lines(stream))
    settled = settle(job, ahead, sample)
    cut, second_line = cut
    parts = [Path(dest) / f".part-{n}" for n in (0, 1)] if dest else [None, None]
    halves = [_Half(path, 0, cut, 1, str(parts[0]) if dest else None),
              _Half(path, cut, size, second_line, str(parts[1]) if dest else None)]
    context = _pool_context(_thread_count())
    progress = context.Value("q", 0)
    try:
        with context.Pool(2, initializer=_share_progress, initargs=(progress,)) as pool:
            pending = pool.starmap_async(_split_half, [(h, settled, job) for h in halves])
            report.prepare()  # while the halves are split: this process waits otherwise
            shown = 0
            while not pending.ready():
                pending.wait(0.5)
                if on_bytes is not None and progress.value > shown:
                    on_bytes(progress.value - shown)
                    shown = progress.value
            (first_counts, first_index), (second_counts, second_index) = pending.get()
        shared = first_index.shared_with(second_index)
        if shared is None:  # an item's split differs between the halves: one core decides
            with open(path, "rb") as stream:
                return split_export(stream, job, outputs)
        counts: Counts = first_counts.plus(second_counts, shared)
        if dest:
            for filename in output_files(job.policy, settled.format).values():
                _append(parts[0] / filename, parts[1] / filename)
                os.replace(parts[0] / filename, Path(dest) / filename)
        return finish(job, settled, counts, outputs)
    finally:
        for part in parts:
            if part is not None:
                shutil.rmtree(part, ignore_errors=True)
