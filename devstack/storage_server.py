"""gcp-storage-emulator, in memory, made to keep the Cloud Storage promises the project relies on.

    python -m devstack.storage_server --port P [--notify BUCKET=URL ...]

On top of the emulator:
- ifGenerationMatch / ifGenerationNotMatch / ifMetagenerationMatch / ifMetagenerationNotMatch
  (and the ifSource* ones of copy and rewrite) are honoured: 412 with Cloud Storage's error
  body, or 304 for a failed "not match" on a read. Uploads are checked when written, resumable
  ones also when the session is created. ifGenerationMatch=0 means "must not exist".
- Every write gets a new, increasing generation, metageneration 1 and fresh timestamps (the
  emulator stamps resumable uploads when the session starts and gives metageneration 2 to
  objects uploaded with metadata). A `generation` query naming a gone generation is a 404.
- Media downloads carry x-goog-generation / x-goog-metageneration headers.
- Every finalized generation goes to the Eventarc stand-in (`--notify`, `/_devstack/notify`);
  `GET /_devstack/deliveries` lists the deliveries and their attempts.
The emulator serves one request at a time, so a check and the write it guards are atomic.
"""

from __future__ import annotations

import argparse
import contextvars
import copy
import logging
import re
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus

from gcp_storage_emulator import server
from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects
from gcp_storage_emulator.storage import Storage

from devstack.eventarc import EventarcBridge
from devstack.ports import LOOPBACK

PRECONDITION_FAILED_MESSAGE = "At least one of the pre-conditions you specified did not hold."


class ApiError(Exception):
    """An error answer in Cloud Storage's JSON error format (no body for 304)."""

    def __init__(self, status: int, reason: str, message: str, location: str | None = None):
        super().__init__(message)
        self.status, self.reason, self.message, self.location = status, reason, message, location

    def write_to(self, response: server.Response) -> None:
        response.status = HTTPStatus(self.status)
        if self.status == HTTPStatus.NOT_MODIFIED:
            return
        detail = {"domain": "global", "reason": self.reason, "message": self.message}
        if self.location:
            detail.update(locationType="header", location=self.location)
        response.json({"error": {"code": self.status, "message": self.message, "errors": [detail]}})


def _precondition_failed() -> ApiError:
    return ApiError(412, "conditionNotMet", PRECONDITION_FAILED_MESSAGE, "If-Match")


def _not_modified() -> ApiError:
    return ApiError(304, "notModified", "Not Modified")


def _no_such_object(bucket: str, name: str) -> ApiError:
    return ApiError(404, "notFound", f"No such object: {bucket}/{name}")


def _int_param(query: dict[str, list[str]], name: str) -> int | None:
    values = query.get(name)
    return int(values[0]) if values else None


@dataclass(frozen=True)
class Preconditions:
    generation_match: int | None = None
    generation_not_match: int | None = None
    metageneration_match: int | None = None
    metageneration_not_match: int | None = None

    @classmethod
    def from_query(cls, query: dict[str, list[str]], source: bool = False) -> Preconditions:
        prefix = "ifSource" if source else "if"
        return cls(
            *(
                _int_param(query, prefix + name)
                for name in (
                    "GenerationMatch",
                    "GenerationNotMatch",
                    "MetagenerationMatch",
                    "MetagenerationNotMatch",
                )
            )
        )

    def check(self, live: dict | None, read: bool = False) -> None:
        """Raise ApiError unless every condition holds for `live` (None: no live object)."""
        if live is None:
            if self.generation_match not in (None, 0) or self._needs_live_object():
                raise _precondition_failed()
            return
        generation, metageneration = int(live["generation"]), int(live["metageneration"])
        if self.generation_match is not None and self.generation_match != generation:
            raise _precondition_failed()
        if self.metageneration_match not in (None, metageneration):
            raise _precondition_failed()
        if generation == self.generation_not_match or (
            metageneration == self.metageneration_not_match
        ):
            raise _not_modified() if read else _precondition_failed()

    def _needs_live_object(self) -> bool:
        return any(
            value is not None
            for value in (
                self.generation_not_match,
                self.metageneration_match,
                self.metageneration_not_match,
            )
        )


# The conditions of the request being served (the emulator serves one at a time).
NO_PRECONDITIONS = Preconditions()
_request_preconditions: contextvars.ContextVar[Preconditions] = contextvars.ContextVar(
    "request_preconditions"
)


class PreconditionStorage(Storage):
    """In-memory emulator storage that checks write preconditions and stamps generations."""

    def __init__(self, on_finalize=lambda obj: None) -> None:
        super().__init__(use_memory_fs=True)
        self._on_finalize = on_finalize
        self._upload_preconditions: dict[str, Preconditions] = {}
        self._last_generation = 0

    def live_object(self, bucket_name: str, name: str) -> dict | None:
        return self.objects.get(bucket_name, {}).get(name)

    def create_resumable_upload(self, bucket_name, file_name, file_obj):
        conditions = _request_preconditions.get(NO_PRECONDITIONS)
        if bucket_name in self.buckets:
            conditions.check(self.live_object(bucket_name, file_name))
        upload_id = super().create_resumable_upload(bucket_name, file_name, file_obj)
        self._upload_preconditions[upload_id] = conditions
        return upload_id

    def create_file(self, bucket_name, file_name, content, file_obj, file_id=None):
        if bucket_name not in self.buckets:
            raise NotFound
        if file_id is None:
            conditions = _request_preconditions.get(NO_PRECONDITIONS)
        else:
            conditions = self._upload_preconditions.get(file_id, NO_PRECONDITIONS)
        conditions.check(self.live_object(bucket_name, file_name))
        self._stamp_new_generation(file_obj, len(content))
        super().create_file(bucket_name, file_name, content, file_obj, file_id)
        self._upload_preconditions.pop(file_id, None)
        self._on_finalize(copy.deepcopy(file_obj))

    def _stamp_new_generation(self, obj: dict, size: int) -> None:
        generation = max(time.time_ns() // 1000, self._last_generation + 1)
        self._last_generation = generation
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        obj.update(
            generation=str(generation),
            metageneration="1",
            size=str(size),
            id=f"{obj['bucket']}/{obj['name']}/{generation}",
            mediaLink=re.sub(r"generation=\d+", f"generation={generation}", obj["mediaLink"]),
            timeCreated=now,
            updated=now,
            timeStorageClassUpdated=now,
        )


def _check_object(request, storage: PreconditionStorage, source: bool = False) -> dict | None:
    """Apply the `generation` selector and preconditions to an existing (source) object."""
    bucket, name = request.params["bucket_name"], request.params["object_id"]
    live = storage.live_object(bucket, name)
    if live is None or request.query.get("softDeleted"):
        return None  # the emulator answers 404 (or serves soft-deleted objects) itself
    selector = _int_param(request.query, "sourceGeneration" if source else "generation")
    if selector is not None and selector != int(live["generation"]):
        raise _no_such_object(bucket, name)
    Preconditions.from_query(request.query, source).check(live, read=request.method == "GET")
    return live


def _guarded(handler, checks_object: bool = False, checks_source: bool = False):
    def handle(request, response, storage):
        _ = request.data  # read the body before any answer, or the client may see a reset
        token = _request_preconditions.set(Preconditions.from_query(request.query))
        try:
            live = _check_object(request, storage) if checks_object else None
            if checks_source:
                _check_object(request, storage, source=True)
            handler(request, response, storage)
            if live is not None and request.method == "GET":
                response["x-goog-generation"] = live["generation"]
                response["x-goog-metageneration"] = live["metageneration"]
        except ApiError as error:
            error.write_to(response)
        finally:
            _request_preconditions.reset(token)

    handle.__name__ = f"guarded_{handler.__name__}"
    return handle


def _admin_routes(bridge: EventarcBridge):
    def notify(request, response, storage):
        body = request.data or {}
        if request.method == "POST":
            bridge.add_target(body["bucket"], body["url"])
        elif request.method == "DELETE":
            bridge.remove_target(body["bucket"], body.get("url"))
        response.json({"targets": bridge.targets()})

    def deliveries(request, response, storage):
        response.json({"deliveries": bridge.deliveries()})

    methods = {server.GET: notify, server.POST: notify, server.DELETE: notify}
    return (
        (r"^/_devstack/notify$", methods),
        (r"^/_devstack/deliveries$", {server.GET: deliveries}),
    )


def install(bridge: EventarcBridge) -> None:
    """Wrap every emulator route handler and add the /_devstack admin routes first."""
    on_object = {objects.get, objects.download, objects.delete, objects.patch}
    on_source = {objects.copy, objects.rewrite}

    def wrap(handler):
        return _guarded(handler, handler in on_object, handler in on_source)

    routes = [
        (pattern, {method: wrap(handler) for method, handler in handlers.items()})
        for pattern, handlers in server.HANDLERS
    ]
    server.HANDLERS = (*_admin_routes(bridge), *routes)
    objects.insert = wrap(objects.insert)  # the router's fallback for uploads without /upload


def _notify_target(spec: str) -> tuple[str, str]:
    bucket, sep, url = spec.partition("=")
    if not (bucket and sep and url):
        raise argparse.ArgumentTypeError(f"expected BUCKET=URL, not {spec!r}")
    return bucket, url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument(
        "--notify",
        type=_notify_target,
        action="append",
        default=[],
        metavar="BUCKET=URL",
        help="deliver BUCKET's finalize events to URL",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    bridge = EventarcBridge()
    for bucket, url in args.notify:
        bridge.add_target(bucket, url)
    install(bridge)
    api = server.APIThread(args.host, args.port, PreconditionStorage(bridge.object_finalized))
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.set())
    api.start()
    while not api.is_running.wait(0.1):
        if not api.is_alive():
            raise SystemExit(f"cannot listen on {args.host}:{args.port}")
    logging.info("storage emulator ready on http://%s:%d", args.host, args.port)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        bridge.stop()
        api.join()


if __name__ == "__main__":
    main()
