"""The local Storage emulator keeps the Cloud Storage promises the project relies on."""

import os
import re

import pytest
import requests
from google.api_core import exceptions
from google.cloud.storage.exceptions import InvalidResponse

from devstack.storage_server import PRECONDITION_FAILED_MESSAGE

pytestmark = [pytest.mark.stack, pytest.mark.timeout(60)]

MiB = 1024 * 1024


@pytest.fixture
def bucket(storage_emulator, unique_name):
    return storage_emulator.create_bucket(unique_name("bucket"))


def test_create_once_write_is_refused_the_second_time(bucket):
    bucket.blob("run.json").upload_from_string(b"first", if_generation_match=0)

    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("run.json").upload_from_string(b"second", if_generation_match=0)

    assert bucket.blob("run.json").download_as_bytes() == b"first"


def test_precondition_failure_has_cloud_storage_error_body(storage_emulator, bucket):
    bucket.blob("a.txt").upload_from_string(b"x")

    answer = requests.post(
        f"{storage_emulator.endpoint}/upload/storage/v1/b/{bucket.name}/o",
        params={"uploadType": "media", "name": "a.txt", "ifGenerationMatch": "0"},
        data=b"y",
        headers={"Content-Type": "application/octet-stream"},
        timeout=10,
    )

    assert answer.status_code == 412
    assert answer.json() == {
        "error": {
            "code": 412,
            "message": PRECONDITION_FAILED_MESSAGE,
            "errors": [
                {
                    "domain": "global",
                    "reason": "conditionNotMet",
                    "message": PRECONDITION_FAILED_MESSAGE,
                    "locationType": "header",
                    "location": "If-Match",
                }
            ],
        }
    }


def test_every_write_gets_a_new_generation_and_metageneration_1(bucket):
    blob = bucket.blob("state.json")
    blob.metadata = {"step": "created"}
    blob.upload_from_string(b"v1", if_generation_match=0)
    first = blob.generation
    blob.upload_from_string(b"v2", if_generation_match=first)

    assert blob.generation > first
    assert blob.metageneration == 1
    assert bucket.get_blob("state.json").generation == blob.generation


def test_stale_generation_is_refused_on_upload_and_delete(bucket):
    blob = bucket.blob("state.json")
    blob.upload_from_string(b"v1")
    stale = blob.generation
    blob.upload_from_string(b"v2", if_generation_match=stale)

    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("state.json").upload_from_string(b"v3", if_generation_match=stale)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("state.json").delete(if_generation_match=stale)

    bucket.blob("state.json").delete(if_generation_match=blob.generation)
    assert bucket.get_blob("state.json") is None


def test_match_on_a_missing_object_fails_and_zero_requires_absence(bucket):
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("new").upload_from_string(b"x", if_generation_match=123)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("new").upload_from_string(b"x", if_generation_not_match=0)

    bucket.blob("new").upload_from_string(b"x", if_generation_match=0)


def test_metageneration_preconditions_on_patch(bucket):
    blob = bucket.blob("meta.txt")
    blob.upload_from_string(b"x")
    blob.metadata = {"k": "v"}

    with pytest.raises(exceptions.PreconditionFailed):
        blob.patch(if_metageneration_match=2)
    blob.patch(if_metageneration_match=1)

    assert bucket.get_blob("meta.txt").metadata == {"k": "v"}
    assert bucket.get_blob("meta.txt").metageneration == 2


def test_copy_rewrite_and_compose_honour_preconditions(bucket):
    source = bucket.blob("source")
    source.upload_from_string(b"abc")
    bucket.blob("taken").upload_from_string(b"x")
    refused = [
        lambda: bucket.copy_blob(source, bucket, "taken", if_generation_match=0),
        lambda: bucket.copy_blob(source, bucket, "new", if_source_generation_match=1),
        lambda: bucket.blob("taken").rewrite(source, if_generation_match=0),
        lambda: bucket.blob("new").rewrite(source, if_source_generation_match=1),
        lambda: bucket.blob("taken").compose([source, source], if_generation_match=0),
    ]
    for call in refused:
        with pytest.raises(exceptions.PreconditionFailed):
            call()

    bucket.copy_blob(
        source, bucket, "new", if_generation_match=0, if_source_generation_match=source.generation
    )
    assert bucket.blob("new").download_as_bytes() == b"abc"


def test_reads_honour_preconditions_and_the_generation_they_name(bucket):
    old = bucket.blob("data.csv")
    old.upload_from_string(b"old")
    bucket.blob("data.csv").upload_from_string(b"new")
    current = bucket.get_blob("data.csv").generation

    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("data.csv").download_as_bytes(if_generation_match=old.generation)
    with pytest.raises(exceptions.NotModified):
        bucket.blob("data.csv").reload(if_generation_not_match=current)
    with pytest.raises(exceptions.NotFound):
        old.download_as_bytes()  # pinned to a generation that was overwritten
    assert bucket.blob("data.csv").download_as_bytes(if_generation_match=current) == b"new"


def test_resumable_upload_checks_its_precondition_at_start_and_at_the_end(bucket):
    payload = os.urandom(24 * MiB + 5)
    with bucket.blob("big.bin", chunk_size=8 * MiB).open("wb", if_generation_match=0) as out:
        out.write(payload)
    assert bucket.get_blob("big.bin").size == len(payload)

    with pytest.raises(InvalidResponse) as refused_at_start:
        with bucket.blob("big.bin", chunk_size=MiB).open("wb", if_generation_match=0) as out:
            out.write(payload[: 2 * MiB])
    assert refused_at_start.value.response.status_code == 412

    late = bucket.blob("late.bin", chunk_size=MiB).open("wb", if_generation_match=0)
    late.write(payload[: MiB + 1])  # the session starts and a first chunk goes out
    bucket.blob("late.bin").upload_from_string(b"someone else")
    with pytest.raises(InvalidResponse) as refused_at_end:
        late.close()
    assert refused_at_end.value.response.status_code == 412
    assert bucket.blob("late.bin").download_as_bytes() == b"someone else"


def test_streamed_reads_use_range_requests(storage_emulator, bucket):
    payload = os.urandom(3 * MiB)
    bucket.blob("export.csv").upload_from_string(payload)

    with bucket.blob("export.csv").open("rb", chunk_size=256 * 1024) as stream:
        stream.seek(MiB + 7)
        middle = stream.read(1000)
        stream.seek(0)
        pieces = iter(lambda: stream.read(64 * 1024), b"")
        whole = b"".join(pieces)

    assert middle == payload[MiB + 7 : MiB + 1007]
    assert whole == payload
    ranged_reads = re.findall(
        r'GET \S+/o/export\.csv\?\S*alt=media HTTP/1\.1" 206', storage_emulator.process.log_text()
    )
    assert len(ranged_reads) >= 3 * MiB // (256 * 1024)


def test_list_by_prefix_and_custom_metadata(bucket):
    for name in ("exports/a/1.csv", "exports/a/2.jsonl", "exports/b/3.csv", "other.txt"):
        blob = bucket.blob(name)
        blob.metadata = {"source": name}
        blob.upload_from_string(b"x", content_type="text/csv")

    listed = list(bucket.list_blobs(prefix="exports/a/"))

    assert [blob.name for blob in listed] == ["exports/a/1.csv", "exports/a/2.jsonl"]
    assert listed[0].metadata == {"source": "exports/a/1.csv"}
    assert listed[0].content_type == "text/csv"
