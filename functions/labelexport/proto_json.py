"""Reading proto3 JSON as exports write it: camelCase or snake_case names, integers as numbers
or strings, Durations as "1.5s" (or the export guide's {seconds, nanos})."""

from __future__ import annotations

import math
import re
from typing import Any

from labelexport import rejects
from labelexport.rejects import RowError

_CAMEL_PART = re.compile(r"([A-Z])")
_SNAKE_NAMES: dict[str, str] = {}
# What proto3 JSON writes for an integer in a string ("12", "-3", "1e2") and for a Duration.
_INTEGER_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", re.ASCII)
_DURATION_TEXT = re.compile(r"-?\d+(\.\d{1,9})?s", re.ASCII)
_INTEGER_RANGES = {32: (-(2 ** 31), 2 ** 31 - 1), 64: (-(2 ** 63), 2 ** 63 - 1)}
_DURATION_MAX_SECONDS = 315_576_000_000  # google.protobuf.Duration's range: +-10,000 years


def snake(name: str) -> str:
    found = _SNAKE_NAMES.get(name)
    if found is None:
        found = _SNAKE_NAMES[name] = _CAMEL_PART.sub(lambda m: "_" + m.group(1).lower(), name)
    return found


def camel(name: str) -> str:
    """A proto field name in lowerCamelCase, whichever way it was spelled."""
    if "_" not in name:
        return name
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def get(obj: Any, name: str, default: Any = None) -> Any:
    """obj[name] under its camelCase or snake_case spelling."""
    if not isinstance(obj, dict):
        return default
    value = obj.get(name)
    if value is None:
        value = obj.get(snake(name), default)
    return value


def get_object(obj: Any, name: str, where: str) -> dict:
    value = get(obj, name)
    if not isinstance(value, dict):
        raise RowError(rejects.MISSING_FIELD, f"{where}.{name} is missing or not an object")
    return value


def get_list(obj: Any, name: str, where: str) -> list:
    value = get(obj, name)
    if not isinstance(value, list):
        raise RowError(rejects.MISSING_FIELD, f"{where}.{name} is missing or not a list")
    return value


def number(obj: Any, name: str, where: str, default: float = 0.0) -> float:
    """A numeric field (int64 may come as a string); absent means the proto default."""
    value = get(obj, name)
    if value is None:
        return default
    if isinstance(value, bool):
        raise RowError(rejects.BAD_NUMBER, f"{where}.{name} is not a number: {value!r}")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise RowError(rejects.BAD_NUMBER,
                       f"{where}.{name} is not a number: {value!r}") from None
    if not math.isfinite(result):
        raise RowError(rejects.BAD_NUMBER, f"{where}.{name} is not a finite number: {value!r}")
    return result


def integer(obj: Any, name: str, where: str, bits: int = 32) -> int:
    """An int32 or int64 field as Google's parser reads it: a JSON number or a string of one,
    integral and in range; absent means 0."""
    value = get(obj, name)
    if value is None:
        return 0
    result = None
    if isinstance(value, int) and not isinstance(value, bool):
        result = value
    elif isinstance(value, float) and value.is_integer():
        result = int(value)
    elif isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        try:
            result = int(value)
        except ValueError:  # "1e2", "5.0": an integral number written as a float
            as_float = float(value)
            result = int(as_float) if as_float.is_integer() else None
    if result is None:
        raise RowError(rejects.BAD_NUMBER, f"{where}.{name} is not an integer: {value!r}")
    low, high = _INTEGER_RANGES[bits]
    if not low <= result <= high:
        raise RowError(rejects.BAD_NUMBER,
                       f"{where}.{name} is {value!r}, outside the int{bits} range")
    return result


def duration(obj: Any, name: str, where: str) -> float:
    """A google.protobuf.Duration in seconds: "12.5s" as proto3 JSON writes it, or the export
    guide's {"seconds": 12, "nanos": 500000000}; absent means 0."""
    value = get(obj, name)
    path = f"{where}.{name}"
    if value is None:
        return 0.0
    if isinstance(value, str):
        if not _DURATION_TEXT.fullmatch(value):
            raise RowError(rejects.BAD_NUMBER,
                           f"{path} is not a duration like \"12.5s\": {value!r}")
        whole, seconds = int(value[:-1].partition(".")[0]), float(value[:-1])
    elif isinstance(value, dict):
        nanos = integer(value, "nanos", path)
        if abs(nanos) > 999_999_999:
            raise RowError(rejects.BAD_NUMBER, f"{path}.nanos is {nanos}, outside +-999999999")
        whole = integer(value, "seconds", path, bits=64)
        seconds = whole + nanos / 1e9
    else:
        raise RowError(rejects.BAD_NUMBER, f"{path} is not a duration: {value!r}")
    if abs(whole) > _DURATION_MAX_SECONDS:
        raise RowError(rejects.BAD_NUMBER, f"{path} is {value!r}, outside a Duration's range")
    return seconds


def display_name(annotation_value: dict, where: str) -> str:
    spec = get(annotation_value, "annotationSpec")
    name = get(spec, "displayName") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not name:
        raise RowError(rejects.MISSING_LABEL, f"{where}.annotationSpec.displayName is missing")
    return name
