"""Google's Pub/Sub emulator: pull, push with retry and dead-letter policies, push to a function."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devstack import pubsub_emulator as pubsub_module
from devstack.ports import LOOPBACK

pytestmark = [pytest.mark.stack, pytest.mark.timeout(60)]

PROJECT = "test-project"


@pytest.fixture
def failing_endpoint():
    """An HTTP endpoint that answers 500 to every push and records the bodies."""
    received = []

    class AlwaysFail(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((LOOPBACK, 0), AlwaysFail)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{server.server_port}", received
    server.shutdown()
    server.server_close()
    thread.join()


def test_publish_then_pull(pubsub_emulator, unique_name):
    topic = pubsub_emulator.create_topic(PROJECT, unique_name("topic"))
    subscription = pubsub_emulator.create_pull_subscription(PROJECT, unique_name("sub"), topic)

    message_id = pubsub_emulator.publish(topic, b'{"k": 1}', origin="test")
    (message,) = pubsub_emulator.pull(subscription, timeout=10)

    assert message.data == b'{"k": 1}'
    assert message.attributes == {"origin": "test"}
    assert message.message_id == message_id
    assert pubsub_emulator.pull(subscription, timeout=0.5) == []  # acknowledged


def test_failing_push_is_retried_then_dead_lettered(pubsub_emulator, failing_endpoint, unique_name):
    url, received = failing_endpoint
    topic = pubsub_emulator.create_topic(PROJECT, unique_name("topic"))
    dead_letter = pubsub_emulator.create_topic(PROJECT, unique_name("dead-letter"))
    # The dead-letter topic needs a subscription before dead-lettering: else the message is lost.
    dead_letters = pubsub_emulator.create_pull_subscription(
        PROJECT, unique_name("dead-letter-sub"), dead_letter
    )
    pubsub_emulator.create_push_subscription(
        PROJECT,
        unique_name("push"),
        topic,
        f"{url}/{topic}",
        min_backoff=1,
        max_backoff=1,
        dead_letter_topic=dead_letter,
        max_delivery_attempts=5,
    )

    message_id = pubsub_emulator.publish(topic, b"poison", kind="test")
    (dead,) = pubsub_emulator.pull(dead_letters, timeout=30)

    assert dead.data == b"poison"
    assert dead.attributes["kind"] == "test"
    assert dead.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"
    assert [body["message"]["messageId"] for body in received] == [message_id] * 5


def test_push_to_a_function_arrives_as_a_message_published_cloudevent(
    pubsub_emulator, functions_server, unique_name
):
    server = functions_server("record_event")
    topic = pubsub_emulator.create_topic(PROJECT, unique_name("topic"))
    # functions-framework makes a CloudEvent of the raw push body when the path names the topic.
    pubsub_emulator.create_push_subscription(
        PROJECT, unique_name("push"), topic, f"{server.url}/{topic}"
    )

    message_id = pubsub_emulator.publish(topic, b'{"annotatedDataset": "x"}', a="b")

    entry = server.wait_for_log(lambda e: e.get("ce", {}).get("id") == message_id)
    assert entry["ce"]["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert entry["ce"]["source"] == f"//pubsub.googleapis.com/{topic}"
    assert base64.b64decode(entry["data"]["message"]["data"]) == b'{"annotatedDataset": "x"}'
    assert entry["data"]["message"]["attributes"] == {"a": "b"}


def test_missing_emulator_is_an_error_that_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("CLOUDSDK_ROOT_DIR", str(tmp_path))
    pubsub_module.sdk_root.cache_clear()
    try:
        with pytest.raises(pubsub_module.EmulatorNotInstalled, match="pubsub-emulator"):
            pubsub_module.PubSubEmulator()
    finally:
        pubsub_module.sdk_root.cache_clear()
