"""Reading proto3 JSON as exports write it: camelCase or snake_case names, int64 as strings,
Durations as "1.5s" or {seconds, nanos}."""

from __future__ import annotations

import math
import re
from typing import Any

from labelexport import rejects
from labelexport.rejects import RowError

_CAMEL_PART = re.compile(r"([A-Z])")
_SNAKE_NAMES: dict[str, str] = {}


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


def duration(obj: Any, name: str, where: str) -> float:
    """A google.protobuf.Duration in seconds: "12.5s", {"seconds": 12, "nanos": 5e8}, absent=0."""
    value = get(obj, name)
    if value is None:
        return 0.0
    if isinstance(value, str):
        if not value.endswith("s"):
            raise RowError(rejects.BAD_NUMBER, f"{where}.{name} is not a duration: {value!r}")
        try:
            return float(value[:-1])
        except ValueError:
            raise RowError(rejects.BAD_NUMBER,
                           f"{where}.{name} is not a duration: {value!r}") from None
    if isinstance(value, dict):
        path = f"{where}.{name}"
        return number(value, "seconds", path) + number(value, "nanos", path) / 1e9
    raise RowError(rejects.BAD_NUMBER, f"{where}.{name} is not a duration: {value!r}")


def display_name(annotation_value: dict, where: str) -> str:
    spec = get(annotation_value, "annotationSpec")
    name = get(spec, "displayName") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not name:
        raise RowError(rejects.MISSING_LABEL, f"{where}.annotationSpec.displayName is missing")
    return name
