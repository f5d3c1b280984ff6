"""Streams lines out of any binary stream, a block at a time, never holding the whole source.

Lines are split on LF only (a CR before it stays on the line, so CRLF rows can be copied as
they came). Text is decoded a block at a time; only a block with invalid UTF-8 is decoded line
by line, to name the bad lines. A UTF-8 byte-order mark at the start is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from labelexport import rejects

BLOCK_BYTES = 1 << 20
MAX_LINE_BYTES = 32 << 20
_RAW_HEAD_CHARS = 1024
_BOM = b"\xef\xbb\xbf"


@dataclass
class Block:
    """Consecutive good lines, the first of them numbered `first_line` (1-based)."""

    first_line: int
    lines: list[str]


@dataclass
class BadLine:
    """A line that cannot be read as text, already judged: reason, detail and what it held."""

    line: int
    reason: str
    detail: str
    raw: str


def _decode_lines(data: bytes, first_line: int,
                  max_line_bytes: int) -> Generator[Block | BadLine, None, int]:
    """Judge `data` (whole lines, the last one without its LF) line by line; returns how many
    lines it held."""
    good: list[str] = []
    start = first_line
    raws = data.split(b"\n")
    for offset, raw in enumerate(raws):
        number = first_line + offset
        bad = None
        if len(raw) > max_line_bytes:
            bad = _too_long(number, raw[:_RAW_HEAD_CHARS], max_line_bytes)
        else:
            try:
                good.append(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                bad = BadLine(number, rejects.INVALID_UTF8,
                              f"line {number} is not valid UTF-8 at byte {exc.start}",
                              raw.removesuffix(b"\r").decode("utf-8", "backslashreplace"))
        if bad is not None:
            if good:
                yield Block(start, good)
                good = []
            yield bad
            start = number + 1
    if good:
        yield Block(start, good)
    return len(raws)


def _lines_of(body: bytes, first_line: int,
              max_line_bytes: int) -> Generator[Block | BadLine, None, int]:
    """Whole lines: decoded in one go, unless some may be too long or are not UTF-8; returns
    how many lines `body` held."""
    if len(body) <= max_line_bytes:
        try:
            lines = body.decode("utf-8").split("\n")
        except UnicodeDecodeError:
            pass
        else:
            yield Block(first_line, lines)
            return len(lines)
    return (yield from _decode_lines(body, first_line, max_line_bytes))


def _first_bytes(stream: BinaryIO, block_bytes: int) -> bytes:
    """The stream's first read, made long enough to tell whether it opens with a UTF-8
    byte-order mark (however short the reads)."""
    head = b""
    while len(head) < len(_BOM) and _BOM.startswith(head):
        chunk = stream.read(block_bytes)
        if not chunk:
            break
        head += chunk
    return head


def read_lines(
    stream: BinaryIO,
    *,
    block_bytes: int = BLOCK_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
    on_bytes: Callable[[int], None] | None = None,
    first_line: int = 1,
) -> Iterator[Block | BadLine]:
    """Yield the stream's lines as Blocks, and BadLines for undecodable or overlong ones.
    `first_line` numbers a stream that starts inside a file (a BOM is dropped only at line 1)."""
    next_line = first_line
    carry: list[bytes] = []  # the start of a line that has not ended yet
    carry_len = 0
    skipping_from = 0  # when > 0: the number of an overlong line being skipped to its end
    skipped_head = b""
    chunk = _first_bytes(stream, block_bytes)
    if on_bytes is not None and chunk:
        on_bytes(len(chunk))
    if first_line == 1:
        chunk = chunk.removeprefix(_BOM)
    while True:
        if not chunk:
            chunk = stream.read(block_bytes)
            if not chunk:
                break
            if on_bytes is not None:
                on_bytes(len(chunk))
        end = chunk.rfind(b"\n")
        if skipping_from:
            if end < 0:
                chunk = b""
                continue
            yield _too_long(skipping_from, skipped_head, max_line_bytes)
            next_line = skipping_from + 1
            skipping_from = 0
            chunk = chunk[chunk.find(b"\n") + 1:]
            end = chunk.rfind(b"\n")
        if end < 0:
            carry.append(chunk)
            carry_len += len(chunk)
            if carry_len > max_line_bytes:
                skipped_head = b"".join(carry)[:_RAW_HEAD_CHARS]
                skipping_from = next_line
                carry, carry_len = [], 0
            chunk = b""
            continue
        carry.append(chunk[:end])
        body = b"".join(carry) if len(carry) > 1 else carry[0]
        carry = [chunk[end + 1:]]
        carry_len = len(chunk) - end - 1
        next_line += yield from _lines_of(body, next_line, max_line_bytes)
        chunk = b""
    if skipping_from:
        yield _too_long(skipping_from, skipped_head, max_line_bytes)
    elif carry_len:
        yield from _decode_lines(b"".join(carry), next_line, max_line_bytes)


def _too_long(line: int, head: bytes, limit: int) -> BadLine:
    return BadLine(line, rejects.LINE_TOO_LONG,
                   f"line {line} is longer than {limit:,} bytes; raw holds its first "
                   f"{_RAW_HEAD_CHARS} bytes",
                   head.decode("utf-8", "backslashreplace"))
