"""Test-only CloudEvent functions that log what they receive as one JSON line."""

import json
import os
import time
from collections import Counter

import functions_framework

_failures = Counter()  # event id -> failed deliveries so far (one worker process keeps it)
_slow = Counter()  # event id -> slow deliveries so far


def _log_event(cloud_event, message):
    entry = {
        "severity": "INFO",
        "message": message,
        "ce": {key: cloud_event[key] for key in ("id", "source", "type", "specversion")},
        "subject": cloud_event.get("subject"),
        "data": cloud_event.data,
    }
    print(json.dumps(entry), flush=True)


@functions_framework.cloud_event
def record_event(cloud_event):
    """Log the event and succeed."""
    _log_event(cloud_event, "event received")


@functions_framework.cloud_event
def fail_first_deliveries(cloud_event):
    """Fail (HTTP 500) the first FAILURES_PER_EVENT deliveries of each event id, then log it."""
    if _failures[cloud_event["id"]] < int(os.environ.get("FAILURES_PER_EVENT", "1")):
        _failures[cloud_event["id"]] += 1
        raise RuntimeError(f"failing delivery {_failures[cloud_event['id']]} on purpose")
    _log_event(cloud_event, "event received")


@functions_framework.cloud_event
def slow_event(cloud_event):
    """Take SLOW_SECONDS before succeeding, for the first SLOW_DELIVERIES deliveries of each
    event id (every one when unset); log each delivery as it starts and as it ends."""
    _log_event(cloud_event, "delivery started")
    slow_deliveries = os.environ.get("SLOW_DELIVERIES")
    if slow_deliveries is None or _slow[cloud_event["id"]] < int(slow_deliveries):
        _slow[cloud_event["id"]] += 1
        time.sleep(float(os.environ.get("SLOW_SECONDS", "1")))
    _log_event(cloud_event, "event received")
