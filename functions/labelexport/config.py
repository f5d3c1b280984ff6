"""Settings read from the environment: the same names in code, Terraform and the local stack
(README "Configuration")."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from labelexport.errors import ConfigError

DEFAULT_ENDPOINT = "https://datalabeling.googleapis.com"
# Vertex AI's API is regional: {location} is replaced by the dataset's location.
DEFAULT_VERTEX_ENDPOINT = "https://{location}-aiplatform.googleapis.com"

# Every variable the functions read, with its default (None: required).
ENV_VARS: dict[str, str | None] = {
    "EXPORT_BUCKET": None,
    "SPLIT_BUCKET": None,
    "RESULTS_TOPIC": None,
    "EXPORT_FORMAT": "csv",
    "DATALABELING_ENDPOINT": DEFAULT_ENDPOINT,
    "VERTEX_ENDPOINT": DEFAULT_VERTEX_ENDPOINT,
    "UNASSIGNED_POLICY": "assign",
    "SPLIT_RATIOS": "80,10,10",
    "MAX_REJECT_FRACTION": "0.01",
    "MIN_ITEMS_PER_LABEL": "1",
    "EVENT_MAX_AGE_SECONDS": "3600",
    "OPERATION_WAIT_SECONDS": "300",
    "SPLIT_MEMORY_MIB": "0",
}

# split_export's memory besides its item index, measured by bench/memory_ceiling.py with room
# to spare (README "Where the limits are"): the runtime, the clients, the upload buffers.
SPLIT_FIXED_MIB = 160


@dataclass(frozen=True)
class SplitPolicy:
    unassigned: str = "assign"
    ratios: tuple[int, int, int] = (80, 10, 10)
    max_reject_fraction: float = 0.01
    min_items_per_label: int = 1  # below this count in a split a label is warned of; 1: off


@dataclass(frozen=True)
class Settings:
    export_bucket: str
    split_bucket: str
    results_topic: str
    export_format: str
    datalabeling_endpoint: str
    vertex_endpoint: str
    policy: SplitPolicy
    event_max_age_seconds: float
    operation_wait_seconds: float
    split_memory_mib: int = 0  # the memory split_export runs in; 0: unknown, no item limit


def parse_unassigned(value: str) -> str:
    value = value.strip().lower()
    if value not in ("assign", "keep"):
        raise ConfigError(f"unassigned policy must be 'assign' or 'keep', not {value!r}")
    return value


def parse_ratios(value: str) -> tuple[int, int, int]:
    parts = [p.strip() for p in value.split(",")]
    try:
        ratios = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(
            f"ratios must be three whole percentages like 80,10,10, not {value!r}") from None
    if len(ratios) != 3 or any(r < 0 for r in ratios) or sum(ratios) != 100:
        raise ConfigError(f"ratios must be three percentages adding up to 100, not {value!r}")
    return ratios  # type: ignore[return-value]


def parse_fraction(value: str) -> float:
    try:
        fraction = float(value)
    except ValueError:
        raise ConfigError(
            f"max reject fraction must be a number in [0, 1], not {value!r}") from None
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"max reject fraction must be in [0, 1], not {value!r}")
    return fraction


def parse_min_items(value: str) -> int:
    try:
        minimum = int(value)
    except ValueError:
        raise ConfigError(
            f"min items per label must be a whole number of at least 1, not {value!r}") from None
    if minimum < 1:
        raise ConfigError(f"min items per label must be at least 1, not {value!r}")
    return minimum


def parse_format(value: str) -> str:
    value = value.strip().lower()
    if value not in ("csv", "jsonl"):
        raise ConfigError(f"format must be 'csv' or 'jsonl', not {value!r}")
    return value


def _seconds(name: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {value!r}") from None
    if seconds <= 0:
        raise ConfigError(f"{name} must be positive, not {value!r}")
    return seconds


def parse_memory_mib(value: str) -> int:
    """SPLIT_MEMORY_MIB: the function's memory in MiB (Terraform sets it), or 0."""
    try:
        mib = int(value)
    except ValueError:
        raise ConfigError(f"SPLIT_MEMORY_MIB must be a whole number of MiB, not {value!r}") \
            from None
    if mib < 0 or 0 < mib <= SPLIT_FIXED_MIB:
        raise ConfigError(f"SPLIT_MEMORY_MIB must be 0 (no limit) or over the {SPLIT_FIXED_MIB} "
                          f"MiB split_export needs besides its item index, not {value!r}")
    return mib


def vertex_endpoint(value: str) -> str:
    """VERTEX_ENDPOINT: an http(s) base URL, `{location}` at most in its host name."""
    from labelexport.vertex_ai import check_endpoint_template

    return check_endpoint_template(value.rstrip("/"))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ

    def get(name: str) -> str:
        value = env.get(name) or ENV_VARS[name]
        if value is None:
            raise ConfigError(f"{name} is not set")
        return value

    export_bucket, split_bucket = get("EXPORT_BUCKET"), get("SPLIT_BUCKET")
    if export_bucket == split_bucket:
        raise ConfigError("SPLIT_BUCKET must differ from EXPORT_BUCKET (a trigger loop otherwise)")
    results_topic = get("RESULTS_TOPIC")
    if not results_topic.startswith("projects/") or "/topics/" not in results_topic:
        raise ConfigError(f"RESULTS_TOPIC must be projects/P/topics/T, not {results_topic!r}")
    return Settings(
        export_bucket=export_bucket,
        split_bucket=split_bucket,
        results_topic=results_topic,
        export_format=parse_format(get("EXPORT_FORMAT")),
        datalabeling_endpoint=get("DATALABELING_ENDPOINT").rstrip("/"),
        vertex_endpoint=vertex_endpoint(get("VERTEX_ENDPOINT")),
        policy=SplitPolicy(
            unassigned=parse_unassigned(get("UNASSIGNED_POLICY")),
            ratios=parse_ratios(get("SPLIT_RATIOS")),
            max_reject_fraction=parse_fraction(get("MAX_REJECT_FRACTION")),
            min_items_per_label=parse_min_items(get("MIN_ITEMS_PER_LABEL")),
        ),
        event_max_age_seconds=_seconds("EVENT_MAX_AGE_SECONDS", get("EVENT_MAX_AGE_SECONDS")),
        operation_wait_seconds=_seconds("OPERATION_WAIT_SECONDS", get("OPERATION_WAIT_SECONDS")),
        split_memory_mib=parse_memory_mib(get("SPLIT_MEMORY_MIB")),
    )
