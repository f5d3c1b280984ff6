"""What fake-gcs-server 1.54.0 gets wrong and the project relies on, fixed by a proxy in front.

    python -m devstack.fake_gcs_proxy --port S --upstream-port P

fake-gcs-server keeps generations, lists objects in name order, puts x-goog-generation on media
downloads and refuses an `ifGenerationMatch` mismatch on a multipart upload by itself. Three
things the project relies on it gets wrong (tests/test_devstack_storage.py shows each one on
fake-gcs-server alone); this proxy fixes them and passes everything else through unchanged:

- RESUMABLE UPLOADS: `ifGenerationMatch` (0 included) is checked when the session starts and
  again when the last chunk commits the object, as Cloud Storage does; a failure is a 412 with
  Cloud Storage's error body. split_export streams its outputs this way (labelexport.gcs).
- READS: a media download's `ifGenerationMatch` pins it to that generation: an object that
  changed meanwhile is a 412, never the bytes of another generation (GcsStore.read_json).
- MEDIA LINKS: an object resource's `mediaLink` names no generation. google-cloud-storage
  downloads a blob it holds the metadata of through that link, so a reader opened on one
  generation (labelexport.gcs.open_object) would go on reading whatever generation is live. The
  proxy adds `generation=` to every mediaLink, as Cloud Storage writes it.

Every request that can commit an object is serialised here, so a check and the write it guards
are atomic: clients reach fake-gcs-server only through this proxy.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from devstack.ports import LOOPBACK

PRECONDITION_FAILED_MESSAGE = "At least one of the pre-conditions you specified did not hold."
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length", "expect"}
STREAM_BLOCK = 1 << 20
_UPLOAD_PATH = re.compile(r"^/upload/storage/v1/b/([^/]+)/o/?$")
_MEDIA_PATH = re.compile(r"^(?:/download)?/storage/v1/b/([^/]+)/o/(.+)$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\*|\d+)$")


@dataclass(frozen=True)
class Guarded:
    """An object a request's `ifGenerationMatch` is about."""

    bucket: str
    name: str
    generation_match: int


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _generation_match(query: dict[str, str]) -> int | None:
    value = query.get("ifGenerationMatch")
    return int(value) if value not in (None, "") else None


def resumable_start(method: str, url: str, body: bytes) -> Guarded | None:
    """The condition of a request that starts a resumable upload session, if it has one."""
    parts, query = urlsplit(url), _query(url)
    match = _UPLOAD_PATH.match(parts.path)
    if method != "POST" or not match or query.get("uploadType") != "resumable":
        return None
    expected = _generation_match(query)
    if expected is None:
        return None
    name = query.get("name")
    if not name and body:
        try:
            name = json.loads(body).get("name")
        except (ValueError, AttributeError):
            name = None
    return Guarded(unquote(match[1]), name, expected) if name else None


def resumable_chunk(method: str, url: str) -> str | None:
    """The upload id of a request that sends data to a resumable upload session."""
    if method not in ("PUT", "POST") or not _UPLOAD_PATH.match(urlsplit(url).path):
        return None
    return _query(url).get("upload_id")


def completes_upload(content_range: str | None) -> bool:
    """Whether a chunk with this Content-Range commits the object (fake-gcs-server's rule:
    unless it is a known range that leaves the total unknown or not yet reached)."""
    match = _CONTENT_RANGE.match((content_range or "").strip())
    if not match:
        return True  # no range, `bytes */N`, `bytes */*`: the upload is complete
    end, total = int(match[2]), match[3]
    return total != "*" and end + 1 >= int(total)


def pinned_read(method: str, url: str) -> Guarded | None:
    """The condition of a media download that names `ifGenerationMatch` but no generation."""
    parts, query = urlsplit(url), _query(url)
    match = _MEDIA_PATH.match(parts.path)
    media = parts.path.startswith("/download/") or query.get("alt") == "media"
    if method not in ("GET", "HEAD") or not match or not media or "generation" in query:
        return None
    expected = _generation_match(query)
    if expected is None:
        return None
    return Guarded(unquote(match[1]), unquote(match[2]), expected)


def with_generation(url: str, generation: int) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return f"{parts.path}?{query}{urlencode({'generation': generation})}"


def _object_resources(document: object) -> list[dict]:
    """The object resources in a JSON answer: an object, a listing's items, a rewrite's resource."""
    if not isinstance(document, dict):
        return []
    if document.get("kind") == "storage#object":
        return [document]
    found = [item for item in document.get("items") or [] if isinstance(item, dict)]
    return found + _object_resources(document.get("resource"))


def pin_media_links(body: bytes) -> bytes:
    """A JSON answer with `generation=` added to each object resource's mediaLink."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    changed = False
    for resource in _object_resources(document):
        link, generation = resource.get("mediaLink"), resource.get("generation")
        if link and generation and "generation" not in _query(link):
            parts = urlsplit(link)
            resource["mediaLink"] = parts._replace(
                query=f"generation={generation}&{parts.query}".rstrip("&")).geturl()
            changed = True
    return json.dumps(document).encode() if changed else body


def error_body(code: int, reason: str, message: str) -> bytes:
    detail = {"domain": "global", "reason": reason, "message": message}
    if code == 412:
        detail.update(locationType="header", location="If-Match")
    return json.dumps({"error": {"code": code, "message": message, "errors": [detail]}}).encode()


class FakeGcsProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], upstream_port: int) -> None:
        super().__init__(address, _Handler)
        self.upstream_port = upstream_port
        self.commit_lock = threading.Lock()  # held by every request that may commit an object
        self._sessions: dict[str, Guarded] = {}
        self._sessions_lock = threading.Lock()

    def remember_session(self, upload_id: str, guarded: Guarded) -> None:
        with self._sessions_lock:
            self._sessions[upload_id] = guarded

    def session(self, upload_id: str) -> Guarded | None:
        with self._sessions_lock:
            return self._sessions.get(upload_id)

    def forget_session(self, upload_id: str) -> None:
        with self._sessions_lock:
            self._sessions.pop(upload_id, None)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: FakeGcsProxy

    def setup(self) -> None:
        super().setup()
        self._upstream: http.client.HTTPConnection | None = None

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        guarded = pinned_read(self.command, self.path)
        if guarded is None:
            self._pass_through(b"")
            return
        url = self.path if guarded.generation_match == 0 else with_generation(
            self.path, guarded.generation_match)
        answer = self._request(self.command, url, self._headers_out(), b"")
        if answer.status != 404 and guarded.generation_match != 0:
            self._relay(answer)
            return
        body = answer.read()  # small: an error, or a must-not-exist read of an object
        live = self._live_generation(guarded.bucket, guarded.name)
        if live is not None and live != guarded.generation_match:
            self._refuse()
            return
        self._send(answer.status, answer.getheaders(), body, answer.getheader("Content-Length"))

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        body = self._body()
        guarded = resumable_start(self.command, self.path, body)
        if guarded is None:
            self._write(body)
            return
        if self._live_generation(guarded.bucket, guarded.name, 0) != guarded.generation_match:
            self._refuse()
            return
        answer = self._request(self.command, self.path, self._headers_out(), body)
        upload_id = _query(answer.getheader("Location") or "").get("upload_id")
        if upload_id and answer.status == 200:
            self.server.remember_session(upload_id, guarded)
        self._relay(answer)

    def do_PUT(self) -> None:  # noqa: N802
        self._write(self._body())

    do_PATCH = do_DELETE = do_PUT

    def _write(self, body: bytes) -> None:
        upload_id = resumable_chunk(self.command, self.path)
        if upload_id is not None:
            self._chunk(upload_id, body)
            return
        with self.server.commit_lock:
            self._pass_through(body)

    def _chunk(self, upload_id: str, body: bytes) -> None:
        if not completes_upload(self.headers.get("Content-Range")):
            self._pass_through(body)
            return
        guarded = self.server.session(upload_id)
        with self.server.commit_lock:
            if guarded is not None:
                live = self._live_generation(guarded.bucket, guarded.name, 0)
                if live != guarded.generation_match:
                    self._request("DELETE", self.path, {}, b"").read()  # drop the session
                    self.server.forget_session(upload_id)
                    self._refuse()
                    return
            answer = self._request(self.command, self.path, self._headers_out(), body)
            body_out = answer.read()
        if answer.status in (200, 201):
            self.server.forget_session(upload_id)
        self._send(answer.status, answer.getheaders(), body_out)

    # ------------------------------------------------------------------ plumbing

    def _live_generation(self, bucket: str, name: str, missing: int | None = None) -> int | None:
        path = f"/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"
        answer = self._request("GET", path, {}, b"")
        body = answer.read()
        if answer.status == 404:
            return missing
        if answer.status != 200:
            raise ConnectionError(f"fake-gcs-server answered {answer.status} for {path}")
        return int(json.loads(body)["generation"])

    def _refuse(self) -> None:
        body = error_body(412, "conditionNotMet", PRECONDITION_FAILED_MESSAGE)
        self._send(412, [("Content-Type", "application/json; charset=UTF-8")], body)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass  # trailers
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _headers_out(self) -> dict[str, str]:
        return {key: value for key, value in self.headers.items()
                if key.lower() not in HOP_BY_HOP}

    def _request(self, method: str, url: str, headers: dict[str, str],
                 body: bytes) -> http.client.HTTPResponse:
        headers = {**headers, "Content-Length": str(len(body))}
        headers.setdefault("Host", self.headers.get("Host") or "")
        try:
            return self._upstream_request(method, url, headers, body)
        except ConnectionError:  # a kept-alive connection fake-gcs-server closed: once more
            self._upstream.close()
            self._upstream = None
            return self._upstream_request(method, url, headers, body)

    def _upstream_request(self, method: str, url: str, headers: dict[str, str],
                          body: bytes) -> http.client.HTTPResponse:
        if self._upstream is None:
            self._upstream = http.client.HTTPConnection(LOOPBACK, self.server.upstream_port,
                                                        timeout=600)
        self._upstream.request(method, url, body=body, headers=headers)
        return self._upstream.getresponse()

    def _pass_through(self, body: bytes) -> None:
        self._relay(self._request(self.command, self.path, self._headers_out(), body))

    def _relay(self, answer: http.client.HTTPResponse) -> None:
        length = answer.getheader("Content-Length")
        json_answer = (answer.getheader("Content-Type") or "").startswith("application/json")
        if length is None or json_answer or self.command == "HEAD":
            self._send(answer.status, answer.getheaders(), answer.read(), length)
            return
        self._start(answer.status, answer.getheaders(), int(length))
        while block := answer.read(STREAM_BLOCK):
            self.wfile.write(block)

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes,
              length: str | None = None) -> None:
        """Answer with `body` (JSON ones with pinned media links); `length` for HEAD."""
        if any(k.lower() == "content-type" and v.startswith("application/json")
               for k, v in headers):
            body = pin_media_links(body)
        self._start(status, headers, int(length) if self.command == "HEAD" and length
                    else len(body))
        if self.command != "HEAD":
            self.wfile.write(body)

    def _start(self, status: int, headers: list[tuple[str, str]], length: int) -> None:
        self.log_request(status)
        self.send_response_only(status)
        for key, value in headers:
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(length))
        self.end_headers()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True,
                        help="the loopback port fake-gcs-server listens on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    server = FakeGcsProxy((LOOPBACK, args.port), args.upstream_port)
    logging.info("proxy on http://%s:%d -> fake-gcs-server on port %d",
                 LOOPBACK, args.port, args.upstream_port)
    server.serve_forever()


if __name__ == "__main__":
    main()
