"""The Eventarc stand-in turns finalized objects into CloudEvents, retried until delivered."""

import pytest

from devstack.eventarc import FINALIZED
from devstack.ports import free_port
from devstack.storage_emulator import StorageEmulator

pytestmark = [pytest.mark.stack, pytest.mark.timeout(60)]


def _settled(bucket_name, count):
    """Predicate: `count` deliveries for the bucket, none of them pending."""

    def check(deliveries):
        mine = [d for d in deliveries if d["bucket"] == bucket_name]
        return len(mine) == count and all(d["state"] != "pending" for d in mine)

    return check


def test_each_new_generation_is_delivered_as_a_finalized_cloudevent(
    storage_emulator, functions_server, unique_name
):
    bucket = storage_emulator.create_bucket(unique_name("exports"))
    server = functions_server("record_event")
    storage_emulator.add_notify_target(bucket.name, server.url)

    blob = bucket.blob("exports/d/a/run/export.csv")
    blob.metadata = {"run": "r1"}
    blob.upload_from_string(b"TRAIN,gs://x/1.jpg,tulip\n", content_type="text/csv")
    first_generation = blob.generation
    blob.upload_from_string(b"TEST,gs://x/1.jpg,tulip\n", if_generation_match=first_generation)

    deliveries = storage_emulator.wait_for_deliveries(_settled(bucket.name, 2))
    assert [d["state"] for d in deliveries[-2:]] == ["delivered", "delivered"]
    assert [int(d["generation"]) for d in deliveries[-2:]] == [first_generation, blob.generation]
    entries = [
        server.wait_for_log(lambda e, d=d: e.get("ce", {}).get("id") == d["id"])
        for d in deliveries[-2:]
    ]
    first = entries[0]
    assert first["ce"]["type"] == FINALIZED
    assert first["ce"]["source"] == f"//storage.googleapis.com/projects/_/buckets/{bucket.name}"
    assert first["subject"] == "objects/exports/d/a/run/export.csv"
    assert first["data"]["bucket"] == bucket.name
    assert first["data"]["name"] == blob.name
    assert first["data"]["generation"] == str(first_generation)
    assert first["data"]["metageneration"] == "1"
    assert first["data"]["size"] == "25"
    assert first["data"]["contentType"] == "text/csv"
    assert first["data"]["metadata"] == {"run": "r1"}
    assert {"md5Hash", "crc32c", "timeCreated", "updated"} <= first["data"].keys()


def test_a_failed_delivery_is_retried_with_the_same_event_id(
    storage_emulator, functions_server, unique_name
):
    bucket = storage_emulator.create_bucket(unique_name("exports"))
    server = functions_server("fail_first_deliveries", env={"FAILURES_PER_EVENT": "2"})
    storage_emulator.add_notify_target(bucket.name, server.url)

    bucket.blob("export.csv").upload_from_string(b"x")

    (delivery,) = storage_emulator.wait_for_deliveries(_settled(bucket.name, 1))[-1:]
    assert delivery["state"] == "delivered"
    assert [attempt["status"] for attempt in delivery["attempts"]] == [500, 500, 200]
    received = [e for e in server.json_logs() if e.get("ce", {}).get("id") == delivery["id"]]
    assert len(received) == 1


def test_unreachable_targets_are_retried_and_can_be_removed(unique_name, tmp_path):
    bucket_name = unique_name("exports")
    unreachable = f"http://127.0.0.1:{free_port()}/"
    with StorageEmulator(notify={bucket_name: unreachable}, log_dir=tmp_path) as emulator:
        assert emulator.notify_targets() == {bucket_name: [unreachable]}
        emulator.create_bucket(bucket_name).blob("a.csv").upload_from_string(b"x")

        deliveries = emulator.wait_for_deliveries(
            lambda ds: ds and len(ds[0]["attempts"]) >= 3, timeout=10
        )

        assert all(attempt["error"] for attempt in deliveries[0]["attempts"])
        emulator.remove_notify_target(bucket_name)
        assert emulator.notify_targets() == {}
        emulator.create_bucket(unique_name("other")).blob("b.csv").upload_from_string(b"y")
        assert len(emulator.deliveries()) == 1
