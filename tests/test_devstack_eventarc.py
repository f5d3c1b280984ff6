"""The Eventarc stand-in: fake-gcs-server's Cloud Storage notifications, pulled from the Pub/Sub
emulator, become finalized CloudEvents, delivered at least once with one id, in order."""

import json
import re
from pathlib import Path

import pytest

from devstack.eventarc import (
    FINALIZED,
    FUNCTION_TIMEOUT_SECONDS,
    NOTIFICATION_ATTRIBUTES,
    EventarcBridge,
    NotDelivered,
    complete_resource,
    finalized_event,
    missing_fields,
    parse_notification,
)
from devstack.eventarc_server import EventarcStandIn
from devstack.ports import free_port
from devstack.storage_emulator import Notifications, StorageEmulator

pytestmark = [pytest.mark.stack, pytest.mark.timeout(60)]

PROJECT = "test-project"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def notifications_topic(pubsub_emulator, unique_name):
    return pubsub_emulator.create_topic(PROJECT, unique_name("gcs-notifications"))


@pytest.fixture
def storage(pubsub_emulator, notifications_topic, tmp_path):
    """A Storage emulator of its own that publishes finalize notifications to the topic."""
    with StorageEmulator(log_dir=tmp_path,
                         notifications=Notifications(pubsub_emulator.host,
                                                     notifications_topic)) as emulator:
        yield emulator


@pytest.fixture
def eventarc(pubsub_emulator, notifications_topic, storage, unique_name, tmp_path):
    """Factory: eventarc(targets={bucket: url}, **settings) -> a started stand-in pulling the
    topic from a subscription of its own; stopped (and its subscription deleted) afterwards."""
    started: list[EventarcStandIn] = []

    def start(targets=None, subscription=None, **settings) -> EventarcStandIn:
        subscription = subscription or f"projects/{PROJECT}/subscriptions/{unique_name('ea')}"
        stand_in = EventarcStandIn(pubsub_emulator.host, notifications_topic, subscription,
                                   storage.endpoint, targets, log_dir=tmp_path, **settings)
        started.append(stand_in)
        return stand_in.start()

    yield start
    for stand_in in started:
        stand_in.stop()
    for subscription in {stand_in.subscription for stand_in in started}:
        pubsub_emulator.subscriber().delete_subscription(subscription=subscription)


def _settled(bucket_name, count):
    """Predicate: `count` deliveries for the bucket, none of them pending."""

    def check(deliveries):
        mine = [d for d in deliveries if d["bucket"] == bucket_name]
        return len(mine) == count and all(d["state"] != "pending" for d in mine)

    return check


def _received(server, delivery_id, message="event received"):
    return [e for e in server.json_logs()
            if e.get("ce", {}).get("id") == delivery_id and e["message"] == message]


# --- the notifications fake-gcs-server publishes ---------------------------------------------


def test_fake_gcs_server_publishes_cloud_storage_notifications(pubsub_emulator,
                                                               notifications_topic, storage,
                                                               unique_name):
    pull = pubsub_emulator.create_pull_subscription(PROJECT, unique_name("raw"),
                                                    notifications_topic)
    bucket = storage.create_bucket(unique_name("exports"))
    blob = bucket.blob("exports/d/a/run/export.csv")
    blob.metadata = {"run": "r1"}
    blob.upload_from_string(b"TRAIN,gs://x/1.jpg,tulip\n", content_type="text/csv")
    first = blob.generation
    blob.upload_from_string(b"TEST,gs://x/1.jpg,tulip\n", content_type="text/csv")

    messages = pubsub_emulator.pull(pull, max_messages=10, min_messages=2)

    generations = [m.attributes["objectGeneration"] for m in messages]
    assert sorted(generations) == [str(first), str(blob.generation)]
    for message in messages:
        attributes, resource = message.attributes, json.loads(message.data)
        assert NOTIFICATION_ATTRIBUTES <= attributes.keys()
        assert attributes["eventType"] == "OBJECT_FINALIZE"
        assert attributes["payloadFormat"] == "JSON_API_V1"
        assert (attributes["bucketId"], attributes["objectId"]) == (bucket.name, blob.name)
        assert (resource["bucket"], resource["name"]) == (bucket.name, blob.name)
        assert resource["generation"] == attributes["objectGeneration"]
        assert resource["size"] == ("25" if resource["generation"] == str(first) else "24")
        assert resource["contentType"] == "text/csv"
        notification = parse_notification(message.message_id, attributes, message.data)
        assert notification.generation == int(attributes["objectGeneration"])
    earlier = next(m for m in messages if m.attributes["objectGeneration"] == str(first))
    assert json.loads(earlier.data)["metadata"] == {"run": "r1"}
    later = next(m for m in messages if m.attributes["objectGeneration"] != str(first))
    assert later.attributes["overwroteGeneration"] == str(first)
    # What fake-gcs-server leaves out of the object resource: the stand-in fetches it.
    assert missing_fields(json.loads(later.data)) == [
        "selfLink", "mediaLink", "metageneration", "etag", "timeStorageClassUpdated"]


# --- the notification, checked, and the CloudEvent made of it --------------------------------


def _attributes(**overrides):
    return {"eventType": "OBJECT_FINALIZE", "bucketId": "b", "objectId": "o/x.csv",
            "objectGeneration": "17", "payloadFormat": "JSON_API_V1",
            "eventTime": "2026-12-01T08:46:00.123Z", **overrides}


@pytest.mark.parametrize(("attributes", "data", "words"), [
    (_attributes(eventType="OBJECT_DELETE"), b"{}", "OBJECT_DELETE"),
    ({k: v for k, v in _attributes().items() if k != "objectGeneration"}, b"{}",
     "without objectGeneration"),
    (_attributes(objectGeneration="x"), b"{}", "objectGeneration 'x'"),
    (_attributes(), b"not json", "not JSON"),
    (_attributes(), b'{"bucket": "b", "name": "other", "generation": "17"}', "payload name"),
    (_attributes(payloadFormat="XML"), b"", "payloadFormat 'XML'"),
])
def test_a_notification_that_is_no_finalize_event_is_not_delivered(attributes, data, words):
    with pytest.raises(NotDelivered, match=re.escape(words)):
        parse_notification("1", attributes, data)


def test_the_event_is_the_object_resource_completed_with_what_the_notification_lacks():
    notification = parse_notification("4242", _attributes(), json.dumps(
        {"bucket": "b", "name": "o/x.csv", "generation": "17", "size": "5"}).encode())
    fetched = {"bucket": "b", "name": "o/x.csv", "generation": "17", "size": "999",
               "metageneration": "1", "acl": [{"role": "OWNER"}]}

    resource = complete_resource(notification.resource, fetched)
    headers, body = finalized_event(notification, resource)

    assert json.loads(body) == {"bucket": "b", "name": "o/x.csv", "generation": "17",
                                "size": "5", "metageneration": "1"}
    assert headers["ce-id"] == "4242"  # the notification's message id: the same every time
    assert headers["ce-type"] == FINALIZED
    assert headers["ce-source"] == "//storage.googleapis.com/projects/_/buckets/b"
    assert headers["ce-subject"] == "objects/o/x.csv"
    assert headers["ce-time"] == "2026-12-01T08:46:00.123Z"
    payload_none = parse_notification("5", _attributes(payloadFormat="NONE"), b"")
    assert json.loads(finalized_event(payload_none, {})[1]) == \
        {"bucket": "b", "name": "o/x.csv", "generation": "17"}


def test_the_stand_in_waits_as_long_as_production_lets_split_export_run():
    variables = (ROOT / "infra" / "variables.tf").read_text()
    block = variables[variables.index('variable "split_function"'):]
    production = float(re.search(r"timeout_seconds\s*=\s*optional\(number,\s*(\d+)\)", block)[1])
    assert FUNCTION_TIMEOUT_SECONDS == production == 540
    assert EventarcBridge().function_timeout == production


# --- delivery through the stack --------------------------------------------------------------


def test_each_new_generation_is_delivered_as_a_finalized_cloudevent(storage, eventarc,
                                                                    functions_server,
                                                                    unique_name):
    bucket = storage.create_bucket(unique_name("exports"))
    server = functions_server("record_event")
    stand_in = eventarc({bucket.name: server.url})

    blob = bucket.blob("exports/d/a/run/export.csv")
    blob.metadata = {"run": "r1"}
    blob.upload_from_string(b"TRAIN,gs://x/1.jpg,tulip\n", content_type="text/csv")
    first_generation = blob.generation
    blob.upload_from_string(b"TEST,gs://x/1.jpg,tulip\n", if_generation_match=first_generation)

    deliveries = sorted(stand_in.wait_for_deliveries(_settled(bucket.name, 2)),
                        key=lambda d: int(d["generation"]))
    assert [d["state"] for d in deliveries] == ["delivered", "delivered"]
    assert [int(d["generation"]) for d in deliveries] == [first_generation, blob.generation]
    first, live = (server.wait_for_log(lambda e, d=d: e.get("ce", {}).get("id") == d["id"])
                   for d in deliveries)
    assert first["ce"]["type"] == FINALIZED
    assert first["ce"]["source"] == f"//storage.googleapis.com/projects/_/buckets/{bucket.name}"
    assert first["subject"] == "objects/exports/d/a/run/export.csv"
    data = first["data"]
    assert (data["bucket"], data["name"]) == (bucket.name, blob.name)
    assert data["generation"] == str(first_generation)
    assert data["size"] == "25" and data["contentType"] == "text/csv"
    assert data["metadata"] == {"run": "r1"}
    assert {"md5Hash", "crc32c", "timeCreated", "updated"} <= data.keys()
    # What the notification lacks comes from the object's metadata at that generation (the
    # first may be gone by then, overwritten: its event has the notification's fields only).
    assert live["data"]["generation"] == str(blob.generation)
    assert live["data"]["metageneration"] == "1"
    assert f"generation={blob.generation}" in live["data"]["mediaLink"]
    assert {"etag", "selfLink", "timeStorageClassUpdated"} <= live["data"].keys()
    assert "acl" not in data and "acl" not in live["data"]


def test_a_failed_delivery_is_retried_with_the_same_event_id(storage, eventarc, functions_server,
                                                             unique_name):
    bucket = storage.create_bucket(unique_name("exports"))
    server = functions_server("fail_first_deliveries", env={"FAILURES_PER_EVENT": "2"})
    stand_in = eventarc({bucket.name: server.url})

    bucket.blob("export.csv").upload_from_string(b"x")

    (delivery,) = stand_in.wait_for_deliveries(_settled(bucket.name, 1))
    assert delivery["state"] == "delivered"
    assert [attempt["status"] for attempt in delivery["attempts"]] == [500, 500, 200]
    assert len(_received(server, delivery["id"])) == 1


def test_one_objects_events_arrive_in_generation_order(storage, eventarc, functions_server,
                                                       unique_name):
    bucket = storage.create_bucket(unique_name("exports"))
    server = functions_server("slow_event", env={"SLOW_SECONDS": "0.2"})
    stand_in = eventarc({bucket.name: server.url})

    written = []
    for number in range(6):
        blob = bucket.blob("export.csv")
        blob.upload_from_string(f"{number}\n".encode())
        written.append(str(blob.generation))

    deliveries = stand_in.wait_for_deliveries(_settled(bucket.name, 6), timeout=30)
    started = [e["data"]["generation"] for e in server.json_logs()
               if e["message"] == "delivery started"]
    assert started == written
    assert {d["state"] for d in deliveries} == {"delivered"}


def test_unreachable_targets_are_retried_and_can_be_removed(storage, eventarc, unique_name):
    bucket = storage.create_bucket(unique_name("exports"))
    unreachable = f"http://127.0.0.1:{free_port()}/"
    stand_in = eventarc({bucket.name: unreachable})
    assert stand_in.targets() == {bucket.name: [unreachable]}

    bucket.blob("a.csv").upload_from_string(b"x")
    deliveries = stand_in.wait_for_deliveries(lambda ds: ds and len(ds[0]["attempts"]) >= 3)

    assert all(attempt["error"] for attempt in deliveries[0]["attempts"])
    stand_in.remove_target(bucket.name)
    assert stand_in.targets() == {}
    bucket.blob("b.csv").upload_from_string(b"y")  # no longer watched
    other = storage.create_bucket(unique_name("other"))
    stand_in.add_target(other.name, unreachable)
    other.blob("c.csv").upload_from_string(b"z")
    stand_in.wait_for_deliveries(lambda ds: any(d["bucket"] == other.name for d in ds))
    assert [d["name"] for d in stand_in.deliveries() if d["bucket"] == bucket.name] == ["a.csv"]


def test_a_delivery_is_awaited_as_long_as_the_function_may_run(storage, eventarc,
                                                               functions_server, unique_name):
    """The stand-in once gave up after 60 s and delivered again while the split still ran:
    Eventarc waits for the function's timeout."""
    bucket = storage.create_bucket(unique_name("exports"))
    server = functions_server("slow_event", env={"SLOW_SECONDS": "2.5"})
    stand_in = eventarc({bucket.name: server.url}, function_timeout=4, min_backoff=0.1)

    bucket.blob("export.csv").upload_from_string(b"x")

    (delivery,) = stand_in.wait_for_deliveries(_settled(bucket.name, 1), timeout=30)
    assert [attempt["status"] for attempt in delivery["attempts"]] == [200]
    assert len(_received(server, delivery["id"], "delivery started")) == 1


def test_a_function_past_its_timeout_is_a_failed_attempt_retried(storage, eventarc,
                                                                 functions_server, unique_name):
    bucket = storage.create_bucket(unique_name("exports"))
    server = functions_server("slow_event", env={"SLOW_SECONDS": "3", "SLOW_DELIVERIES": "1"})
    stand_in = eventarc({bucket.name: server.url}, function_timeout=1, min_backoff=0.1)

    bucket.blob("export.csv").upload_from_string(b"x")

    (delivery,) = stand_in.wait_for_deliveries(_settled(bucket.name, 1), timeout=30)
    first, second = delivery["attempts"]
    assert first["status"] is None and "ReadTimeout" in first["error"]
    assert second["status"] == 200
    assert len(_received(server, delivery["id"], "delivery started")) == 2  # the same ce-id


@pytest.mark.timeout(120)
def test_a_notification_left_unacknowledged_is_delivered_again_with_its_id(
        storage, eventarc, functions_server, unique_name):
    """At least once: a stand-in stopped mid-delivery leaves the notification on its
    subscription, and the next one delivers it with the same ce-id."""
    bucket = storage.create_bucket(unique_name("exports"))
    server = functions_server("slow_event", env={"SLOW_SECONDS": "120", "SLOW_DELIVERIES": "1"})
    subscription = f"projects/{PROJECT}/subscriptions/{unique_name('ea')}"
    first = eventarc({bucket.name: server.url}, subscription=subscription)
    bucket.blob("export.csv").upload_from_string(b"x")
    (cut_short,) = first.wait_for_deliveries(lambda ds: len(ds) == 1)
    server.wait_for_log(lambda e: e["message"] == "delivery started")
    first.stop()

    second = eventarc({bucket.name: server.url}, subscription=subscription)
    # Once its lease ran out (10 s; the Pub/Sub emulator at times takes 30 s to notice).
    (delivery,) = second.wait_for_deliveries(_settled(bucket.name, 1), timeout=60)

    assert delivery["id"] == cut_short["id"] and delivery["state"] == "delivered"
    assert len(_received(server, delivery["id"])) == 1
