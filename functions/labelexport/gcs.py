"""Cloud Storage adapter: streamed reads pinned to a generation, streamed resumable writes with
preconditions, small JSON objects. The client is created on first use (no import-time I/O)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import BinaryIO

from google.api_core import exceptions as api_exceptions
from google.cloud import storage
from google.cloud.storage.exceptions import InvalidResponse
from google.cloud.storage.fileio import BlobWriter

from labelexport.errors import PermanentError, SourceError, TransientError
from labelexport.excerpts import clip
from labelexport.outputs import Outputs

READ_CHUNK_BYTES = 8 << 20
WRITE_CHUNK_BYTES = 8 << 20  # a multiple of 256 KiB, as resumable uploads require
SOURCE_GENERATION_KEY = "sourceGeneration"  # custom metadata on every output object

TRANSIENT = (
    api_exceptions.TooManyRequests,
    api_exceptions.InternalServerError,
    api_exceptions.BadGateway,
    api_exceptions.ServiceUnavailable,
    api_exceptions.GatewayTimeout,
    api_exceptions.RetryError,
    ConnectionError,
    TimeoutError,
)


class ConcurrentWrite(TransientError):
    """A precondition failed: someone else wrote the object meanwhile. Retry to re-decide."""


class ObjectGone(PermanentError):
    """The object (or the generation asked for) does not exist, or no longer does."""

    reason = "object_not_found"

    def __init__(self, message: str, what: str):
        super().__init__(message)
        self.what = what


class UnreadableObject(PermanentError):
    """A small JSON object of the pipeline (a run record, a manifest) that is not one."""

    reason = "unreadable_object"


READ_ATTEMPTS = 3  # a small object rewritten between its metadata and its bytes is read again


@lru_cache(maxsize=1)
def client() -> storage.Client:
    return storage.Client()


def parse_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("gs://"):
        raise SourceError(f"not a gs:// URI: {uri!r}")
    bucket, _, name = uri[5:].partition("/")
    if not bucket:
        raise SourceError(f"no bucket in {uri!r}")
    return bucket, name


@contextmanager
def open_object(uri: str, generation: int | None = None) -> Iterator[tuple[BinaryIO, storage.Blob]]:
    """A streamed reader of gs://bucket/object (at `generation`, else the live one)."""
    bucket, name = parse_uri(uri)
    try:
        blob = client().bucket(bucket).get_blob(name, generation=generation)
    except api_exceptions.Forbidden as exc:
        raise SourceError(f"no permission to read {uri}: {exc.message}") from None
    if blob is None:
        if generation is not None:
            raise ObjectGone(f"{uri} generation {generation} does not exist (any more)", uri)
        raise SourceError(f"{uri} does not exist")
    with blob.open("rb", chunk_size=READ_CHUNK_BYTES) as stream:
        yield stream, blob


class _TextToBlob:
    """The text stream Outputs hands out: UTF-8 into a resumable upload."""

    def __init__(self, writer: BlobWriter, uri: str):
        self.writer = writer
        self.uri = uri
        self.bytes = 0

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        self.bytes += len(data)
        with storage_errors(self.uri):  # a full chunk is uploaded here, not only on commit
            return self.writer.write(data)


class GcsFolder(Outputs):
    """Outputs under gs://bucket/prefix/. Each object is written with if_generation_match: the
    generation seen when the run began (0: must not exist), so two writers never interleave
    silently; a loser gets ConcurrentWrite. Objects carry the source generation as metadata."""

    def __init__(self, bucket: str, prefix: str, *, source_generation: str | None = None,
                 expected_generations: dict[str, int] | None = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.source_generation = source_generation
        self.expected = expected_generations
        self._sizes: dict[str, int] = {}

    @classmethod
    def from_uri(cls, uri: str) -> GcsFolder:
        bucket, prefix = parse_uri(uri)
        return cls(bucket, prefix)

    def uri(self, name: str) -> str:
        return f"gs://{self.bucket}/{self.prefix}{name}"

    def _blob(self, name: str, content_type: str) -> tuple[storage.Blob, dict]:
        blob = client().bucket(self.bucket).blob(self.prefix + name)
        if self.source_generation is not None:
            blob.metadata = {SOURCE_GENERATION_KEY: self.source_generation}
        blob.content_type = content_type
        condition = {}
        if self.expected is not None:
            condition["if_generation_match"] = self.expected.get(name, 0)
        return blob, condition

    def open(self, name: str) -> _TextToBlob:  # type: ignore[override]
        blob, condition = self._blob(name, _content_type(name))
        writer = BlobWriter(blob, chunk_size=WRITE_CHUNK_BYTES, ignore_flush=True,
                            content_type=_content_type(name), **condition)
        return _TextToBlob(writer, self.uri(name))

    def commit(self, name: str, stream: _TextToBlob) -> None:  # type: ignore[override]
        with storage_errors(self.uri(name)):
            stream.writer.close()
        self._sizes[name] = stream.bytes

    def size(self, name: str) -> int | None:
        return self._sizes.get(name)

    def abort(self, name: str, stream: _TextToBlob) -> None:  # type: ignore[override]
        try:
            stream.writer.terminate()
        except Exception:  # noqa: BLE001 - best effort: an unfinished upload expires anyway
            pass

    def write_manifest(self, name: str, text: str) -> None:
        blob, condition = self._blob(name, "application/json")
        with storage_errors(self.uri(name)):
            blob.upload_from_string(text.encode("utf-8"), content_type="application/json",
                                    **condition)


def _content_type(name: str) -> str:
    if name.endswith(".csv"):
        return "text/csv"
    if name.endswith(".html"):
        return "text/html; charset=utf-8"
    return "application/jsonl" if name.endswith(".jsonl") else "application/json"


@contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Map Cloud Storage failures onto the pipeline's error kinds."""
    try:
        yield
    except InvalidResponse as exc:  # what resumable uploads raise instead of API errors
        status = getattr(getattr(exc, "response", None), "status_code", 0)
        if status == 412:
            raise ConcurrentWrite(f"{what} was written by someone else meanwhile") from None
        if status == 429 or status >= 500 or status in (0, 408):
            raise TransientError(f"Cloud Storage is unavailable for {what}: {clip(str(exc))}") \
                from exc
        raise PermanentError(f"Cloud Storage refused {what}: {clip(str(exc))}") from exc
    except api_exceptions.PreconditionFailed:
        raise ConcurrentWrite(f"{what} was written by someone else meanwhile") from None
    except TRANSIENT as exc:
        raise TransientError(f"Cloud Storage is unavailable for {what}: {clip(str(exc))}") \
            from exc
    except api_exceptions.NotFound as exc:
        raise ObjectGone(f"{what} does not exist (any more): {clip(str(exc))}", what) from exc
    except api_exceptions.GoogleAPICallError as exc:
        raise PermanentError(f"Cloud Storage refused {what}: {clip(str(exc))}") from exc


def _json_object(uri: str, data: bytes) -> dict:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise UnreadableObject(f"{uri} is not JSON: {clip(str(exc), 200)}") from None
    if not isinstance(value, dict):
        raise UnreadableObject(f"{uri} is JSON but not an object")
    return value


class GcsStore:
    """The few object operations the functions need beyond streaming."""

    def has_objects(self, bucket: str, prefix: str) -> bool:
        """Whether any object's name starts with `prefix`."""
        with storage_errors(f"gs://{bucket}/{prefix}"):
            return any(True for _ in client().list_blobs(bucket, prefix=prefix, max_results=1))

    def live_generation(self, bucket: str, name: str) -> int | None:
        with storage_errors(f"gs://{bucket}/{name}"):
            blob = client().bucket(bucket).get_blob(name)
        return None if blob is None else int(blob.generation)

    def read_json(self, bucket: str, name: str) -> tuple[dict, int] | None:
        """(the object parsed as a JSON object, its generation), or None if it does not exist.

        The bytes are read pinned to the generation the metadata named; if the object was
        rewritten in between (the pinned read answers 404 or 412), it is read again."""
        uri = f"gs://{bucket}/{name}"
        for _ in range(READ_ATTEMPTS):
            with storage_errors(uri):
                blob = client().bucket(bucket).get_blob(name)
                if blob is None:
                    return None
                try:
                    data = blob.download_as_bytes(if_generation_match=blob.generation)
                except (api_exceptions.NotFound, api_exceptions.PreconditionFailed):
                    continue
            return _json_object(uri, data), int(blob.generation)
        raise ConcurrentWrite(f"{uri} kept changing while read")

    def write_json(self, bucket: str, name: str, data: dict, if_generation_match: int) -> int:
        """Create (if_generation_match=0) or replace a generation; returns the new one."""
        blob = client().bucket(bucket).blob(name)
        with storage_errors(f"gs://{bucket}/{name}"):
            blob.upload_from_string(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                    content_type="application/json",
                                    if_generation_match=if_generation_match)
        return int(blob.generation)

    def stat(self, uri: str) -> tuple[int, int] | None:
        """(generation, size) of the live object at gs:// `uri`, or None if there is none."""
        bucket, name = parse_uri(uri)
        with storage_errors(uri):
            blob = client().bucket(bucket).get_blob(name)
        return None if blob is None else (int(blob.generation), int(blob.size or 0))

    def list_objects(self, bucket: str, prefix: str) -> list[tuple[str, int, int]]:
        """(name, generation, size) of every object under prefix, by name."""
        with storage_errors(f"gs://{bucket}/{prefix}"):
            return sorted((blob.name, int(blob.generation), int(blob.size or 0))
                          for blob in client().list_blobs(bucket, prefix=prefix))

    def read_head(self, uri: str, limit: int) -> bytes | None:
        """The first `limit` bytes of the live object at `uri`; None if there is none."""
        bucket, name = parse_uri(uri)
        with storage_errors(uri):
            blob = client().bucket(bucket).get_blob(name)
            return None if blob is None else blob.download_as_bytes(end=limit - 1)

    def create(self, uri: str, data: bytes, content_type: str) -> int | None:
        """Create the object (if_generation_match=0): its generation, or None if it exists."""
        bucket, name = parse_uri(uri)
        blob = client().bucket(bucket).blob(name)
        try:
            with storage_errors(uri):
                blob.upload_from_string(data, content_type=content_type, if_generation_match=0)
        except ConcurrentWrite:
            return None
        return int(blob.generation)

    def list_updated(self, bucket: str, prefix: str) -> list[tuple[str, datetime | None]]:
        """(name, time of its last write) of every object under prefix."""
        with storage_errors(f"gs://{bucket}/{prefix}"):
            blobs = client().list_blobs(bucket, prefix=prefix)
            return [(blob.name, blob.updated) for blob in blobs]

    def output_generations(self, bucket: str, prefix: str) -> dict[str, tuple[int, str | None]]:
        """name -> (generation, source generation it was written from) under prefix/."""
        found = {}
        with storage_errors(f"gs://{bucket}/{prefix}"):
            for blob in client().list_blobs(bucket, prefix=prefix):
                name = blob.name[len(prefix):]
                if "/" not in name:
                    found[name] = (int(blob.generation),
                                   (blob.metadata or {}).get(SOURCE_GENERATION_KEY))
        return found
