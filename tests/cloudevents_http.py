"""Sends CloudEvents to a function over HTTP, in binary or structured content mode."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import requests


def post_event(url: str, event_type: str, source: str, data: dict, *, mode: str = "binary",
               event_id: str | None = None, time: str | None = None,
               subject: str | None = None) -> requests.Response:
    attributes = {
        "id": event_id or str(uuid.uuid4()),
        "source": source,
        "specversion": "1.0",
        "type": event_type,
        "time": time or datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    if subject:
        attributes["subject"] = subject
    if mode == "binary":
        headers = {f"ce-{k}": v for k, v in attributes.items()}
        headers["Content-Type"] = "application/json"
        return requests.post(url, headers=headers, data=json.dumps(data), timeout=120)
    body = {**attributes, "datacontenttype": "application/json", "data": data}
    return requests.post(url, headers={"Content-Type": "application/cloudevents+json"},
                         data=json.dumps(body), timeout=120)
