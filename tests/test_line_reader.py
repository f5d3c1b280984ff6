"""read_lines: a block-at-a-time reader whose lines are exactly a split on LF, whatever the block
size, with undecodable and overlong lines named by their line numbers."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from labelexport.line_reader import BadLine, Block, read_lines

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def _read(data: bytes, block_bytes: int, **kwargs) -> list[tuple[int, str] | BadLine]:
    """Numbered good lines and BadLines, in order."""
    out: list[tuple[int, str] | BadLine] = []
    expected_next = 1
    for block in read_lines(io.BytesIO(data), block_bytes=block_bytes, **kwargs):
        if isinstance(block, BadLine):
            assert block.line == expected_next
            out.append(block)
            expected_next += 1
        else:
            assert isinstance(block, Block) and block.lines
            assert block.first_line == expected_next
            out.extend(enumerate(block.lines, start=block.first_line))
            expected_next += len(block.lines)
    return out


def _plain(text: str) -> list[tuple[int, str]]:
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return list(enumerate(lines, start=1))


LINE_TEXT = st.text(alphabet=st.sampled_from(list("ab,\"\r é€😀\t")), max_size=12)


@SETTINGS
@given(lines=st.lists(LINE_TEXT, max_size=30), final_lf=st.booleans(),
       block_bytes=st.integers(1, 40))
def test_lines_are_a_plain_split_on_lf_for_any_block_size(lines, final_lf, block_bytes):
    text = "\n".join(lines) + ("\n" if final_lf and lines else "")
    assert _read(text.encode(), block_bytes) == _plain(text)


@SETTINGS
@given(block_bytes=st.integers(1, 3))
def test_tiny_blocks_without_a_bom_still_split_right(block_bytes):
    text = "é,€\r\n\n😀x\nlast"
    assert _read(text.encode(), block_bytes) == _plain(text)


@pytest.mark.parametrize("block_bytes", [1, 2, 3, 5, 7, 64, 1 << 20])
def test_invalid_utf8_line_is_named_and_the_good_lines_around_it_kept(block_bytes):
    data = b"first\nsecond\nbad \xff\xfe here\nfourth\n\xc3(\nlast"
    out = _read(data, block_bytes)
    assert [x for x in out if isinstance(x, tuple)] == [
        (1, "first"), (2, "second"), (4, "fourth"), (6, "last")]
    bad = [x for x in out if isinstance(x, BadLine)]
    assert [(b.line, b.reason) for b in bad] == [(3, "invalid_utf8"), (5, "invalid_utf8")]
    assert bad[0].detail == "line 3 is not valid UTF-8 at byte 4"
    assert bad[0].raw == "bad \\xff\\xfe here"
    assert "line 5" in bad[1].detail


@pytest.mark.parametrize("block_bytes", [4, 7, 16, 100])
def test_overlong_line_is_skipped_with_its_head_and_later_lines_numbered_right(block_bytes):
    long_line = b"L" + b"a" * 500 + b"\xff"  # undecodable too: the length decides first
    data = b"one\ntwo\n" + long_line + b"\nthree\n\nfour"
    out = _read(data, block_bytes, max_line_bytes=50)
    assert [x for x in out if isinstance(x, tuple)] == [
        (1, "one"), (2, "two"), (4, "three"), (5, ""), (6, "four")]
    (bad,) = [x for x in out if isinstance(x, BadLine)]
    assert (bad.line, bad.reason) == (3, "line_too_long")
    assert "line 3 is longer than 50 bytes" in bad.detail
    assert bad.raw.startswith("La") and len(bad.raw) <= 1024


def test_overlong_line_keeps_a_head_of_1024_bytes():
    data = b"x\n" + b"h" * 10_000 + b"\ny\n"
    out = _read(data, 4096, max_line_bytes=2000)
    assert out[0] == (1, "x") and out[2] == (3, "y")
    assert isinstance(out[1], BadLine) and out[1].raw == "h" * 1024


def test_overlong_last_line_without_lf():
    out = _read(b"x\n" + b"z" * 300, 16, max_line_bytes=100)
    assert out[0] == (1, "x")
    assert isinstance(out[1], BadLine) and (out[1].line, out[1].reason) == (2, "line_too_long")
    assert len(out) == 2


@pytest.mark.parametrize("block_bytes", [4, 5, 64, 1 << 20])
def test_bom_is_dropped(block_bytes):
    assert _read(b"\xef\xbb\xbfa,b\nc\n", block_bytes) == [(1, "a,b"), (2, "c")]


def test_only_a_leading_bom_is_dropped():
    assert _read(b"a\n\xef\xbb\xbfb\n", 1 << 20) == [(1, "a"), (2, "\ufeffb")]


@pytest.mark.parametrize("block_bytes", [2, 3])
def test_bom_is_dropped_with_short_first_reads(block_bytes):
    assert _read(b"\xef\xbb\xbfa\nb\n", block_bytes) == [(1, "a"), (2, "b")]


@pytest.mark.parametrize("block_bytes", [1, 3, 64])
def test_last_line_without_lf_is_read(block_bytes):
    assert _read(b"a\nb\nlast line", block_bytes) == [(1, "a"), (2, "b"), (3, "last line")]
    assert _read(b"only", block_bytes) == [(1, "only")]
    assert _read(b"", block_bytes) == []


def test_crlf_stays_on_the_line():
    assert _read(b"a\r\nb\r\n", 3) == [(1, "a\r"), (2, "b\r")]


def test_on_bytes_counts_every_byte_read():
    seen: list[int] = []
    data = b"\xef\xbb\xbf" + b"row\n" * 1000
    list(read_lines(io.BytesIO(data), block_bytes=333, on_bytes=seen.append))
    assert sum(seen) == len(data) and max(seen) <= 333


def test_a_line_over_the_limit_is_always_too_long():
    out = _read(b"aaaaaaaa" + b"bbbbb\nc\n", 8, max_line_bytes=10)  # line 1: 13 bytes
    assert isinstance(out[0], BadLine) and out[0].reason == "line_too_long"
