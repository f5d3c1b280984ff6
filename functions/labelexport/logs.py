"""Structured logs: one JSON object per line on stdout, as Cloud Logging reads them.

An entry stays small whatever it reports: its message and text fields are clipped (Cloud
Logging takes 256 KB per entry; inputs are quoted, see `excerpts`)."""

from __future__ import annotations

import json
import sys
from typing import Any

from labelexport.excerpts import MESSAGE_CHARS, clip


def _bounded(value: Any) -> Any:
    return clip(value, MESSAGE_CHARS) if isinstance(value, str) else value


def log(severity: str, message: str, **fields: Any) -> None:
    entry = {"severity": severity, "message": clip(message, 2 * MESSAGE_CHARS)}
    entry.update((k, _bounded(v)) for k, v in fields.items() if v is not None)
    sys.stdout.write(json.dumps(entry, default=lambda v: clip(str(v), MESSAGE_CHARS)) + "\n")
    sys.stdout.flush()


def info(message: str, **fields: Any) -> None:
    log("INFO", message, **fields)


def warning(message: str, **fields: Any) -> None:
    log("WARNING", message, **fields)


def error(message: str, **fields: Any) -> None:
    log("ERROR", message, **fields)
