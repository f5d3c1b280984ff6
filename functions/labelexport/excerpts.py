"""Short excerpts of inputs: results, rejects and log lines quote an input, never echo it whole.

An input (a message, a name, a field of a row) may be megabytes long, while a log entry holds
256 KB, a Pub/Sub attribute value 1,024 bytes and a person reads a line or two.
"""

from __future__ import annotations

import reprlib

QUOTE_CHARS = 100  # of an input, quoted in an error message
MESSAGE_CHARS = 2_000  # a whole error message in a result, a reject's detail or a log line

_reprs = reprlib.Repr(maxlevel=3, maxdict=8, maxlist=8, maxtuple=8, maxset=8, maxstring=40,
                      maxother=40)


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """repr() of `value`, of at most `limit` of its characters (or bytes), saying how long it
    was when it was cut."""
    if isinstance(value, str | bytes):
        if len(value) <= limit:
            return repr(value)
        unit = "characters" if isinstance(value, str) else "bytes"
        return f"{value[:limit]!r}... ({len(value):,} {unit} in all)"
    text = _reprs.repr(value)  # bounded in depth and breadth, so cheap on any value
    return text if len(text) <= limit else f"{text[:limit]}..."


def clip(text: str, limit: int = MESSAGE_CHARS) -> str:
    """`text` cut to `limit` characters, saying how many were left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def clip_utf8(text: str, limit_bytes: int) -> str:
    """`text` cut to at most `limit_bytes` of UTF-8, on a character boundary."""
    data = text.encode("utf-8")
    if len(data) <= limit_bytes:
        return text
    return data[:limit_bytes].decode("utf-8", errors="ignore")
