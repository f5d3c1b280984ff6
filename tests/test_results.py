"""Result messages: one failure shape for both functions, attributes Pub/Sub accepts, inputs
quoted (never echoed whole), and a result Pub/Sub refuses replaced by a small `failed` one."""

from __future__ import annotations

import json

import pytest
from labelexport import pubsub
from labelexport.errors import PermanentError
from labelexport.excerpts import MESSAGE_CHARS, QUOTE_CHARS, clip, clip_utf8, quote
from labelexport.results import (
    ATTRIBUTE_VALUE_BYTES,
    FAILURE_FIELDS,
    Results,
    ResultSubject,
    failure_report,
)

SUBJECT = ResultSubject(run_id="r1", annotated_dataset="projects/demo-project/datasets/d/"
                        "annotatedDatasets/a", source="gs://b/exports/d/a/r1/export.csv",
                        source_generation="17", source_format="csv")


def test_both_functions_report_a_failure_in_one_shape():
    split = failure_report("split", "event_too_old", "old", SUBJECT, eventId="e1")
    export = failure_report("export", "export_failed", "boom", ResultSubject("r1", "n"),
                            messageId="m1", requestId="q1")
    for report in (split, export):
        assert set(report) <= set(FAILURE_FIELDS)
        assert report["status"] == "failed" and set(report["error"]) == {"reason", "message"}
    assert split["source"] == {"uri": SUBJECT.source, "generation": "17", "format": "csv"}
    assert (split["runId"], export["runId"]) == ("r1", "r1")
    assert "source" not in export and "requestId" not in split  # only what is known


def test_attributes_fit_what_pubsub_accepts():
    long_source = "gs://b/exports/" + "é" * 1500 + "/export.csv"
    attributes = ResultSubject(source=long_source, run_id="r").attributes("failed")
    assert all(len(v.encode()) <= ATTRIBUTE_VALUE_BYTES for v in attributes.values())
    assert long_source.startswith(attributes["source"]) and attributes["runId"] == "r"


def test_inputs_are_quoted_by_a_short_prefix():
    huge = "\U0001F600" * 850_000  # 3.4 MB of emoji
    quoted = quote(huge)
    assert len(quoted) < QUOTE_CHARS + 60 and "850,000 characters in all" in quoted
    assert quote(b"x" * 10_000).endswith("(10,000 bytes in all)")
    assert quote("short") == "'short'"
    assert len(quote({"k": ["v" * 10_000] * 1000})) < 4 * QUOTE_CHARS
    assert len(clip("y" * 10**6)) < MESSAGE_CHARS + 40
    assert clip_utf8("\U0001F600" * 300, 1024) == "\U0001F600" * 256


def test_a_failure_message_is_clipped():
    report = failure_report("export", "bad_resource_name", "z" * 10**6)
    assert len(json.dumps(report)) < MESSAGE_CHARS + 200


def test_a_result_pubsub_refuses_becomes_a_small_failed_result():
    published = []

    def publish(topic, data, attributes):
        if len(json.dumps(data)) > 1000:
            raise pubsub.MessageRefused("too large")
        published.append((data, attributes))

    Results(publish, "projects/p/topics/t", "split").announce(
        {"status": "ok", "labels": ["l" * 10] * 1000}, SUBJECT)
    ((data, attributes),) = published
    assert data["status"] == attributes["status"] == "failed"
    assert data["error"]["reason"] == "result_unpublishable"
    assert data["stage"] == "split" and attributes["runId"] == "r1"


@pytest.mark.stack
def test_publish_maps_a_message_too_large_to_a_permanent_error(pubsub_emulator, unique_name,
                                                              monkeypatch):
    for key, value in pubsub_emulator.env().items():
        monkeypatch.setenv(key, value)
    pubsub.publisher.cache_clear()
    topic = pubsub_emulator.create_topic("demo-project", unique_name("results"))
    try:
        assert pubsub.publish_json(topic, {"status": "ok"}, {"status": "ok"})
        with pytest.raises(PermanentError, match="refuses the 10,999,999-byte message"):
            pubsub.publish_json(topic, {"x": "y" * (11 * 10**6 - 10)}, {"status": "ok"})
    finally:
        pubsub.publisher.cache_clear()
