"""The local Storage emulator (fake-gcs-server behind devstack.fake_gcs_proxy) keeps the
Cloud Storage promises the project relies on; three of them only thanks to the proxy."""

import os
import re
import threading

import pytest
import requests
from google.api_core import exceptions
from google.cloud.storage.exceptions import InvalidResponse

from devstack.fake_gcs_proxy import PRECONDITION_FAILED_MESSAGE, completes_upload

pytestmark = [pytest.mark.stack, pytest.mark.timeout(60)]

MiB = 1024 * 1024


@pytest.fixture
def bucket(storage_emulator, unique_name):
    return storage_emulator.create_bucket(unique_name("bucket"))


# --- what fake-gcs-server does itself ---------------------------------------------------------


def test_create_once_write_is_refused_the_second_time(bucket):
    bucket.blob("run.json").upload_from_string(b"first", if_generation_match=0)

    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("run.json").upload_from_string(b"second", if_generation_match=0)

    assert bucket.blob("run.json").download_as_bytes() == b"first"


def test_every_write_gets_a_new_generation_and_metageneration_1(bucket):
    blob = bucket.blob("state.json")
    blob.metadata = {"step": "created"}
    blob.upload_from_string(b"v1", if_generation_match=0)
    first = blob.generation
    blob.upload_from_string(b"v2", if_generation_match=first)

    assert blob.generation > first
    assert blob.metageneration == 1
    assert bucket.get_blob("state.json").generation == blob.generation


def test_stale_or_invented_generations_are_refused_on_upload(bucket):
    blob = bucket.blob("state.json")
    blob.upload_from_string(b"v1")
    stale = blob.generation
    blob.upload_from_string(b"v2", if_generation_match=stale)

    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("state.json").upload_from_string(b"v3", if_generation_match=stale)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("new").upload_from_string(b"x", if_generation_match=123)
    assert bucket.blob("state.json").download_as_bytes() == b"v2"
    assert bucket.get_blob("new") is None


def test_a_read_naming_an_overwritten_generation_is_not_found(bucket):
    old = bucket.blob("data.csv")
    old.upload_from_string(b"old")
    bucket.blob("data.csv").upload_from_string(b"new")

    assert bucket.get_blob("data.csv", generation=old.generation) is None
    with pytest.raises(exceptions.NotFound):
        bucket.blob("data.csv", generation=old.generation).download_as_bytes()


def test_media_downloads_say_their_generation(storage_emulator, bucket):
    """google-cloud-storage pins the retries of an unpinned download to the generation in
    x-goog-generation of the first answer."""
    blob = bucket.blob("export.csv")
    blob.upload_from_string(os.urandom(1000))
    url = f"{storage_emulator.endpoint}/download/storage/v1/b/{bucket.name}/o/export.csv"

    whole = requests.get(url, params={"alt": "media"}, timeout=10)
    ranged = requests.get(url, params={"alt": "media"}, headers={"Range": "bytes=10-19"},
                          timeout=10)

    assert (whole.status_code, ranged.status_code, len(ranged.content)) == (200, 206, 10)
    assert whole.headers["x-goog-generation"] == ranged.headers["x-goog-generation"] == \
        str(blob.generation)


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
        rf'"GET \S+/b/{bucket.name}/o/export\.csv\?\S*alt=media\S* HTTP/1\.1" 206',
        storage_emulator.proxy.log_text(),
    )
    assert len(ranged_reads) >= 3 * MiB // (256 * 1024)


def test_list_by_prefix_in_name_order_with_custom_metadata(bucket):
    for name in ("exports/a/2.jsonl", "exports/a/10.csv", "exports/b/3.csv", "exports/a/1.csv",
                 "other.txt"):
        blob = bucket.blob(name)
        blob.metadata = {"source": name}
        blob.upload_from_string(b"x", content_type="text/csv")

    listed = list(bucket.list_blobs(prefix="exports/a/"))

    assert [blob.name for blob in listed] == ["exports/a/1.csv", "exports/a/10.csv",
                                              "exports/a/2.jsonl"]
    assert listed[0].metadata == {"source": "exports/a/1.csv"}
    assert listed[0].content_type == "text/csv"


# --- what fake-gcs-server 1.54.0 does not do: the smallest test of each, on it alone -------------


def _direct(storage_emulator) -> str:
    """fake-gcs-server's own address, without the proxy."""
    return f"http://127.0.0.1:{storage_emulator.server_port}"


def test_fake_gcs_server_alone_ignores_if_generation_match_on_a_resumable_upload(
        storage_emulator, bucket):
    """If this fails, fake-gcs-server learned it: the proxy's resumable check can go."""
    bucket.blob("taken").upload_from_string(b"first")
    session = requests.post(f"{_direct(storage_emulator)}/upload/storage/v1/b/{bucket.name}/o",
                            params={"uploadType": "resumable", "name": "taken",
                                    "ifGenerationMatch": "0"}, json={}, timeout=10)
    upload = requests.put(session.headers["Location"], data=b"second", timeout=10)

    assert (session.status_code, upload.status_code) == (200, 200)  # Cloud Storage: 412
    assert bucket.blob("taken").download_as_bytes() == b"second"


def test_fake_gcs_server_alone_ignores_if_generation_match_on_a_read(storage_emulator, bucket):
    """If this fails, fake-gcs-server learned it: the proxy's read check can go."""
    bucket.blob("data").upload_from_string(b"old")
    old = bucket.get_blob("data").generation
    bucket.blob("data").upload_from_string(b"new")

    answer = requests.get(f"{_direct(storage_emulator)}/download/storage/v1/b/{bucket.name}/o/data",
                          params={"alt": "media", "ifGenerationMatch": old}, timeout=10)

    assert (answer.status_code, answer.content) == (200, b"new")  # Cloud Storage: 412


def test_fake_gcs_server_alone_gives_media_links_without_a_generation(storage_emulator, bucket):
    """If this fails, fake-gcs-server learned it: the proxy's media link fix can go."""
    bucket.blob("data").upload_from_string(b"x")

    resource = requests.get(f"{_direct(storage_emulator)}/storage/v1/b/{bucket.name}/o/data",
                            timeout=10).json()

    assert "generation=" not in resource["mediaLink"]  # Cloud Storage: ?generation=G&alt=media


# --- what devstack.fake_gcs_proxy sets right --------------------------------------------------


def test_a_blob_read_through_its_media_link_stays_on_its_generation(bucket):
    old = bucket.blob("data.csv")
    old.upload_from_string(b"old")  # old now holds the object resource, mediaLink included
    fetched = bucket.get_blob("data.csv")
    listed = next(iter(bucket.list_blobs(prefix="data.csv")))
    bucket.blob("data.csv").upload_from_string(b"new")

    for blob in (old, fetched, listed):
        assert f"generation={blob.generation}" in blob.media_link
        with pytest.raises(exceptions.NotFound):
            blob.download_as_bytes()  # that generation is gone: never the new bytes
    assert bucket.get_blob("data.csv").download_as_bytes() == b"new"




def test_resumable_upload_checks_its_precondition_at_start_and_at_the_end(bucket):
    payload = os.urandom(24 * MiB + 5)
    with bucket.blob("big.bin", chunk_size=8 * MiB).open("wb", if_generation_match=0) as out:
        out.write(payload)
    assert bucket.get_blob("big.bin").size == len(payload)
    assert bucket.blob("big.bin").download_as_bytes() == payload

    with pytest.raises(InvalidResponse) as refused_at_start:
        with bucket.blob("big.bin", chunk_size=MiB).open("wb", if_generation_match=0) as out:
            out.write(payload[: 2 * MiB])
    assert refused_at_start.value.response.status_code == 412
    assert refused_at_start.value.response.json()["error"]["errors"][0]["reason"] == \
        "conditionNotMet"

    late = bucket.blob("late.bin", chunk_size=MiB).open("wb", if_generation_match=0)
    late.write(payload[: MiB + 1])  # the session starts and a first chunk goes out
    bucket.blob("late.bin").upload_from_string(b"someone else")
    with pytest.raises(InvalidResponse) as refused_at_end:
        late.close()
    assert refused_at_end.value.response.status_code == 412
    assert refused_at_end.value.response.json()["error"]["message"] == \
        PRECONDITION_FAILED_MESSAGE
    assert bucket.blob("late.bin").download_as_bytes() == b"someone else"


def test_a_resumable_upload_matching_the_live_generation_replaces_it(bucket):
    bucket.blob("state").upload_from_string(b"v1")
    live = bucket.get_blob("state").generation
    with bucket.blob("state", chunk_size=MiB).open("wb", if_generation_match=live) as out:
        out.write(b"v2" * MiB)
    assert bucket.blob("state").download_as_bytes() == b"v2" * MiB


def test_concurrent_create_once_resumable_writers_have_one_winner(bucket):
    outcomes: list[int] = []

    def write(number: int) -> None:
        try:
            with bucket.blob("once", chunk_size=MiB).open("wb", if_generation_match=0) as out:
                out.write(bytes([number]) * (MiB + 1))
            outcomes.append(200)
        except InvalidResponse as error:
            outcomes.append(error.response.status_code)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()

    assert sorted(outcomes) == [200] + [412] * 7
    content = bucket.blob("once").download_as_bytes()
    assert len(content) == MiB + 1 and len(set(content)) == 1


def test_a_read_with_a_generation_match_never_returns_another_generation(bucket):
    bucket.blob("data.csv").upload_from_string(b"old")
    old = bucket.get_blob("data.csv").generation
    bucket.blob("data.csv").upload_from_string(b"new")
    current = bucket.get_blob("data.csv").generation

    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("data.csv").download_as_bytes(if_generation_match=old)
    assert bucket.blob("data.csv").download_as_bytes(if_generation_match=current) == b"new"
    with pytest.raises(exceptions.NotFound):
        bucket.blob("missing").download_as_bytes(if_generation_match=current)


@pytest.mark.parametrize(("content_range", "commits"), [
    (None, True),
    ("bytes 0-1048575/*", False),
    ("bytes 0-1048575/3145728", False),
    ("bytes 2097152-3145727/3145728", True),
    ("bytes */3145728", True),
    ("bytes */*", True),
])
def test_which_chunk_commits_a_resumable_upload(content_range, commits):
    assert completes_upload(content_range) is commits
