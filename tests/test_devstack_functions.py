"""functions-framework processes receive CloudEvents, and managed processes leave nothing behind."""

import json
import sys
import uuid

import pytest
import requests

from devstack.ports import free_port
from devstack.processes import ManagedProcess, ProcessNotReady, group_members

pytestmark = [pytest.mark.stack, pytest.mark.timeout(60)]

EVENT_TYPE = "google.cloud.storage.object.v1.finalized"
SOURCE = "//storage.googleapis.com/projects/_/buckets/some-bucket"


def test_binary_mode_cloudevent_reaches_the_function(functions_server):
    server = functions_server("record_event")
    event_id = str(uuid.uuid4())

    answer = requests.post(
        server.url,
        headers={
            "ce-id": event_id,
            "ce-source": SOURCE,
            "ce-specversion": "1.0",
            "ce-type": EVENT_TYPE,
            "ce-subject": "objects/a.csv",
            "Content-Type": "application/json",
        },
        data=json.dumps({"bucket": "some-bucket", "name": "a.csv", "generation": "7"}),
        timeout=10,
    )

    assert answer.status_code == 200
    entry = server.wait_for_log(lambda e: e.get("ce", {}).get("id") == event_id)
    assert entry["ce"]["type"] == EVENT_TYPE
    assert entry["subject"] == "objects/a.csv"
    assert entry["data"]["generation"] == "7"


def test_structured_mode_cloudevent_reaches_the_function(functions_server):
    server = functions_server("record_event")
    event_id = str(uuid.uuid4())
    event = {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": EVENT_TYPE,
        "subject": "objects/b.csv",
        "datacontenttype": "application/json",
        "data": {"bucket": "some-bucket", "name": "b.csv"},
    }

    answer = requests.post(
        server.url,
        data=json.dumps(event),
        headers={"Content-Type": "application/cloudevents+json"},
        timeout=10,
    )

    assert answer.status_code == 200
    entry = server.wait_for_log(lambda e: e.get("ce", {}).get("id") == event_id)
    assert entry["data"] == {"bucket": "some-bucket", "name": "b.csv"}


def test_function_environment_is_what_the_test_gives(functions_server, monkeypatch):
    monkeypatch.setenv("FAILURES_PER_EVENT", "1")
    server = functions_server("fail_first_deliveries")
    headers = {
        "ce-id": "same-event",
        "ce-source": SOURCE,
        "ce-specversion": "1.0",
        "ce-type": EVENT_TYPE,
        "Content-Type": "application/json",
    }

    first = requests.post(server.url, headers=headers, data="{}", timeout=10)
    second = requests.post(server.url, headers=headers, data="{}", timeout=10)

    assert (first.status_code, second.status_code) == (500, 200)
    assert "failing delivery 1 on purpose" in server.log_text()


def test_stop_ends_the_whole_process_group(functions_server):
    server = functions_server("record_event")
    members = group_members(server.process.pid)
    assert len(members) >= 2  # the gunicorn arbiter and its worker

    server.stop()

    assert server.process.is_gone()
    assert group_members(server.process.pid) == []


def test_stop_kills_children_that_ignore_sigterm(tmp_path):
    script = "trap '' TERM; sleep 60 & sleep 60 & wait"
    process = ManagedProcess("stubborn", ["sh", "-c", script], log_dir=tmp_path).start()
    process.wait_until(lambda: len(group_members(process.pid)) == 3, timeout=5)

    process.stop(grace=0.3)

    assert process.is_gone()
    assert group_members(process.pid) == []


def test_readiness_failure_reports_the_log_and_stops(tmp_path):
    command = [sys.executable, "-c", "print('cannot start: no config', flush=True); exit(3)"]
    process = ManagedProcess("broken", command, log_dir=tmp_path)

    with pytest.raises(ProcessNotReady, match="(?s)exited.*cannot start: no config"):
        process.start_until_ready(free_port(), timeout=5)

    assert process.is_gone()
