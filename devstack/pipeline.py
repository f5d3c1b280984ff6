"""The whole pipeline on one machine, on loopback, wired as production has it.

    with LocalPipeline() as pipeline:
        sent = pipeline.publish_completion(pipeline.annotated_dataset(), fmt="csv")
        manifest, attributes = pipeline.wait_for_result(sent.run_id)

What runs (each a managed process logging to a file in `log_dir`):

- Google's Pub/Sub emulator with the topics labeling-complete, labeling-export-results and
  labeling-complete-dead-letter; a hold subscription on the dead-letter topic (created before
  anything can be dead-lettered); a push subscription labeling-complete -> export_labeled_data
  with a retry policy, a dead-letter policy and a 600 s ack deadline; a pull subscription on the
  results topic for the caller.
- The Storage emulator (fake-gcs-server behind devstack.fake_gcs_proxy) with EXPORT_BUCKET
  and SPLIT_BUCKET; it publishes EXPORT_BUCKET's finalize notifications to the topic
  labelexport-exports-notifications, and the Eventarc stand-in, pulling them from its own
  subscription, delivers them to split_export as CloudEvents.
- The local Data Labeling and Vertex AI servers (their REST surfaces, writing exports into the
  emulator).
- export_labeled_data and split_export under functions-framework, with the environment of
  the README ("Configuration").

Everything started is stopped by `stop()` or on leaving the `with` block, also on exceptions
(and, through devstack.processes, at interpreter exit, on SIGTERM or when this process dies).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import requests
from labelexport.config import ENV_VARS
from labelexport.errors import LabelExportError
from labelexport.resource_names import parse_annotated_dataset_name, parse_vertex_dataset_name
from labelexport.run_records import run_id_for

from devstack import sample_exports, vertex_samples
from devstack.datalabeling_server import DataLabelingServer
from devstack.eventarc import FUNCTION_TIMEOUT_SECONDS
from devstack.eventarc_server import EventarcStandIn
from devstack.functions_server import FunctionsServer
from devstack.ports import is_listening
from devstack.processes import ManagedProcess
from devstack.pubsub_emulator import PubSubEmulator, PulledMessage
from devstack.storage_emulator import Notifications, StorageEmulator
from devstack.vertex_server import VertexAIServer

MAIN = Path(__file__).resolve().parent.parent / "functions" / "main.py"
LABELEXPORT = Path(sys.executable).with_name("labelexport")

PROJECT = "demo-project"
EXPORT_BUCKET = "labelexport-exports"
SPLIT_BUCKET = "labelexport-splits"
COMPLETION_TOPIC = "labeling-complete"
RESULTS_TOPIC = "labeling-export-results"
DEAD_LETTER_TOPIC = "labeling-complete-dead-letter"
PUSH_SUBSCRIPTION = "labeling-complete-export"  # -> export_labeled_data
DEAD_LETTER_HOLD = "labeling-complete-dead-letter-hold"
RESULTS_SUBSCRIPTION = "labeling-export-results-local"
STORAGE_NOTIFICATIONS_TOPIC = "labelexport-exports-notifications"  # EXPORT_BUCKET's
EVENTARC_SUBSCRIPTION = "labelexport-exports-eventarc"  # -> split_export

STARTUP_TIMEOUT = 60.0


@dataclass(frozen=True)
class Publication:
    """A labeling-completion message as published, and the run it will become."""

    message_id: str
    annotated_dataset: str
    body: dict
    run_id: str | None  # None when the annotated dataset name is not well formed

    @property
    def request_id(self) -> str | None:
        return self.body.get("requestId")


def _relative(path: Path) -> str:
    """`path` relative to the working directory when it is inside it (shorter to read)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class LocalPipeline:
    """`with LocalPipeline() as pipeline:` runs every part of the pipeline on 127.0.0.1."""

    def __init__(
        self,
        project: str = PROJECT,
        export_bucket: str = EXPORT_BUCKET,
        split_bucket: str = SPLIT_BUCKET,
        log_dir: str | os.PathLike[str] | None = None,
        min_backoff: float = 1.0,
        max_backoff: float = 10.0,
        max_delivery_attempts: int = 5,
        ack_deadline: int = 600,
        operation_delay: float = 0.5,
        operation_wait_seconds: float = 120.0,
        settings: Mapping[str, str] | None = None,
        function_timeout: float = FUNCTION_TIMEOUT_SECONDS,
    ) -> None:
        if export_bucket == split_bucket:
            raise ValueError("the split bucket must differ from the export bucket")
        self.project = project
        self.export_bucket = export_bucket
        self.split_bucket = split_bucket
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="labelexport-pipeline-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.min_backoff, self.max_backoff = min_backoff, max_backoff
        self.max_delivery_attempts = max_delivery_attempts
        self.ack_deadline = ack_deadline
        self.completion_topic = f"projects/{project}/topics/{COMPLETION_TOPIC}"
        self.results_topic = f"projects/{project}/topics/{RESULTS_TOPIC}"
        self.dead_letter_topic = f"projects/{project}/topics/{DEAD_LETTER_TOPIC}"
        self.push_subscription = f"projects/{project}/subscriptions/{PUSH_SUBSCRIPTION}"
        self.dead_letter_subscription = f"projects/{project}/subscriptions/{DEAD_LETTER_HOLD}"
        self.results_subscription = f"projects/{project}/subscriptions/{RESULTS_SUBSCRIPTION}"

        self.notifications_topic = f"projects/{project}/topics/{STORAGE_NOTIFICATIONS_TOPIC}"
        self.eventarc_subscription = f"projects/{project}/subscriptions/{EVENTARC_SUBSCRIPTION}"

        log = str(self.log_dir)
        self.pubsub = PubSubEmulator(log_dir=log)
        self.storage = StorageEmulator(log_dir=log, notifications=Notifications(
            self.pubsub.host, self.notifications_topic, bucket=export_bucket))
        self.datalabeling = DataLabelingServer(self.storage.endpoint, project,
                                               operation_delay=operation_delay, log_dir=log)
        self.vertex = VertexAIServer(self.storage.endpoint, project,
                                     operation_delay=operation_delay, log_dir=log)
        # The configuration (README "Configuration"), every variable set (defaults unless
        # `settings` says otherwise), so that nothing in the caller's environment changes what
        # runs.
        self.function_env: dict[str, str] = {
            **{name: value for name, value in ENV_VARS.items() if value is not None},
            "EXPORT_BUCKET": export_bucket,
            "SPLIT_BUCKET": split_bucket,
            "RESULTS_TOPIC": self.results_topic,
            "DATALABELING_ENDPOINT": self.datalabeling.endpoint,
            "VERTEX_ENDPOINT": self.vertex.endpoint,
            "OPERATION_WAIT_SECONDS": f"{operation_wait_seconds:g}",
            "SPLIT_MEMORY_MIB": "1024",  # what Terraform gives split_export by default
            "GOOGLE_CLOUD_PROJECT": project,
            **self.storage.env(),
            **self.pubsub.env(),
            **(settings or {}),
        }
        self.export_function = FunctionsServer("export_labeled_data", MAIN, self.function_env,
                                               log_dir=log)
        self.split_function = FunctionsServer("split_export", MAIN, self.function_env,
                                              log_dir=log)
        self.eventarc = EventarcStandIn(self.pubsub.host, self.notifications_topic,
                                        self.eventarc_subscription, self.storage.endpoint,
                                        targets={export_bucket: f"{self.split_function.url}/"},
                                        function_timeout=function_timeout, log_dir=log)
        self._results: list[PulledMessage] = []
        self._results_lock = threading.Lock()
        self._stack: ExitStack | None = None
        self.started_at: float | None = None
        self.startup_seconds: float | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def processes(self) -> list[ManagedProcess]:
        return [self.pubsub.process, *self.storage.processes, self.eventarc.process,
                self.datalabeling.process, self.vertex.process, self.export_function.process,
                self.split_function.process]

    @property
    def ports(self) -> list[int]:
        return [self.pubsub.port, *self.storage.ports, self.eventarc.port,
                self.datalabeling.port, self.vertex.port, self.export_function.port,
                self.split_function.port]

    @property
    def log_files(self) -> dict[str, Path]:
        return {process.name: process.log_path for process in self.processes}

    def start(self) -> LocalPipeline:
        """Start every process (all at once, then wait for each), then wire them together."""
        if self._stack is not None:
            raise RuntimeError("the pipeline was already started")
        started = time.monotonic()
        stack = ExitStack()
        self._stack = stack
        try:
            # Started from this thread: a child dies with the thread that started it.
            for part in (self.pubsub, self.storage, self.eventarc, self.datalabeling,
                         self.vertex, self.export_function, self.split_function):
                stack.callback(part.stop)
            for process in self.processes:
                process.start()
            self._wait_ready()
            self._wire()
        except BaseException:
            self.stop()
            raise
        self.started_at = time.monotonic()
        self.startup_seconds = self.started_at - started
        return self

    def stop(self) -> None:
        """Stop every process of the pipeline (idempotent)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()

    def __enter__(self) -> LocalPipeline:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def is_stopped(self) -> bool:
        """No process of the pipeline is alive and none of its ports listens."""
        def gone(process: ManagedProcess) -> bool:
            try:
                return process.is_gone()
            except RuntimeError:  # never started
                return True

        return all(gone(p) for p in self.processes) and not any(
            is_listening(port) for port in self.ports)

    def _wait_ready(self) -> None:
        def answers(url: str) -> Callable[[], bool]:
            return lambda: requests.get(url, timeout=2) is not None

        checks = [
            (self.pubsub.process, self.pubsub.port,
             lambda: self.pubsub.publisher().list_topics(project=f"projects/{self.project}",
                                                         timeout=2) is not None),
            (self.storage.server, self.storage.server_port, None),
            (self.storage.proxy, self.storage.port, self.storage.answers),
            # Its subscription exists once it pulls: no notification is missed after this.
            (self.eventarc.process, self.eventarc.port, self.eventarc.is_pulling),
            (self.datalabeling.process, self.datalabeling.port,
             answers(f"{self.datalabeling.endpoint}/_devstack/healthz")),
            (self.vertex.process, self.vertex.port,
             answers(f"{self.vertex.endpoint}/_devstack/healthz")),
            (self.export_function.process, self.export_function.port,
             answers(self.export_function.url)),
            (self.split_function.process, self.split_function.port,
             answers(self.split_function.url)),
        ]
        for process, port, predicate in checks:
            process.wait_for_port(port, STARTUP_TIMEOUT)
            if predicate is not None:
                process.wait_until(predicate, STARTUP_TIMEOUT, "answering")

    def _wire(self) -> None:
        pubsub, project = self.pubsub, self.project
        self.storage.create_bucket(self.export_bucket)
        self.storage.create_bucket(self.split_bucket)
        for topic in (COMPLETION_TOPIC, RESULTS_TOPIC, DEAD_LETTER_TOPIC):
            pubsub.create_topic(project, topic)
        # The dead-letter topic keeps only what a subscription holds: create it first.
        pubsub.create_pull_subscription(project, DEAD_LETTER_HOLD, DEAD_LETTER_TOPIC,
                                        ack_deadline=60)
        pubsub.create_pull_subscription(project, RESULTS_SUBSCRIPTION, RESULTS_TOPIC,
                                        ack_deadline=60)
        # functions-framework makes a CloudEvent of a raw push body when the path is the topic.
        pubsub.create_push_subscription(
            project, PUSH_SUBSCRIPTION, COMPLETION_TOPIC,
            push_endpoint=f"{self.export_function.url}/{self.completion_topic}",
            ack_deadline=self.ack_deadline, min_backoff=self.min_backoff,
            max_backoff=self.max_backoff, dead_letter_topic=DEAD_LETTER_TOPIC,
            max_delivery_attempts=self.max_delivery_attempts)

    # ------------------------------------------------------------------ publishing

    def annotated_dataset(self, annotation_type: str = "IMAGE_BOUNDING_BOX_ANNOTATION",
                          dirty: bool = False) -> str:
        """The sample annotated dataset of a type (`projects/P/datasets/D/annotatedDatasets/A`)."""
        names = sample_exports.annotated_dataset_names(self.project, dirty=dirty)
        if annotation_type not in names:
            kind = "dirty " if dirty else ""
            raise KeyError(f"no {kind}sample annotated dataset of type {annotation_type}; "
                           f"there are: {', '.join(sorted(names))}")
        return names[annotation_type]

    def publish_completion(self, annotated_dataset: str, fmt: str | None = None,
                           request_id: str | None = None, **attributes: str) -> Publication:
        """Publish a labeling-completion message (docs/contracts.md) to labeling-complete."""
        body: dict = {"annotatedDataset": annotated_dataset}
        if fmt is not None:
            body["format"] = fmt
        if request_id is not None:
            body["requestId"] = request_id
        message_id = self.publish_raw(json.dumps(body).encode(), **attributes)
        try:
            name = str(parse_annotated_dataset_name(annotated_dataset))
            run_id = run_id_for(name, request_id or message_id)
        except LabelExportError:
            run_id = None
        return Publication(message_id, annotated_dataset, body, run_id)

    def vertex_dataset(self, schema: str = "image_bounding_box", dirty: bool = False) -> str:
        """The name of the sample Vertex AI dataset of an import schema."""
        return self.vertex.dataset_name(vertex_samples.sample_for(schema, dirty))

    def publish_vertex_completion(self, dataset: str, annotations_filter: str | None = None,
                                  request_id: str | None = None) -> Publication:
        """Publish a completion message naming a Vertex AI dataset."""
        body: dict = {"dataset": dataset}
        if annotations_filter is not None:
            body["annotationsFilter"] = annotations_filter
        if request_id is not None:
            body["requestId"] = request_id
        message_id = self.publish_raw(json.dumps(body).encode())
        return Publication(message_id, dataset, body, run_id_for(dataset,
                                                                 request_id or message_id))

    def publish_raw(self, data: bytes, **attributes: str) -> str:
        """Publish any bytes to labeling-complete; returns the message id."""
        return self.pubsub.publish(self.completion_topic, data, **attributes)

    # ------------------------------------------------------------------ results

    def wait_for_result(self, run_id: str | None = None,
                        predicate: Callable[[dict, dict], object] | None = None,
                        timeout: float = 60.0) -> tuple[dict, dict]:
        """The next result message (manifest or failure report, attributes) for `run_id`, or
        satisfying `predicate(data, attributes)`, or any; TimeoutError after `timeout` s.

        Results that do not match stay buffered for later calls (safe from several threads).
        """
        def matches(message: PulledMessage) -> bool:
            data, attributes = json.loads(message.data), message.attributes
            if run_id is not None and attributes.get("runId") != run_id:
                return False
            return predicate is None or bool(predicate(data, attributes))

        deadline = time.monotonic() + timeout
        while True:
            with self._results_lock:
                for index, message in enumerate(self._results):
                    if matches(message):
                        del self._results[index]
                        return json.loads(message.data), dict(message.attributes)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    what = f"run {run_id}" if run_id else "the expected result"
                    raise TimeoutError(f"no result message for {what} after {timeout:g} s")
                self._results += self.pubsub.pull(self.results_subscription, max_messages=100,
                                                  timeout=min(remaining, 0.5))

    def wait_for_results(self, run_ids: Iterable[str],
                         timeout: float = 60.0) -> dict[str, tuple[dict, dict]]:
        """One result per run id, all within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        return {run_id: self.wait_for_result(run_id, timeout=max(0.0,
                                                                 deadline - time.monotonic()))
                for run_id in run_ids}

    def dead_letters(self, timeout: float = 30.0, min_messages: int = 1) -> list[PulledMessage]:
        """Messages on the dead-letter hold subscription (acknowledged once returned)."""
        return self.pubsub.pull(self.dead_letter_subscription, max_messages=100,
                                timeout=timeout, min_messages=min_messages)

    # ------------------------------------------------------------------ storage

    def read(self, uri: str) -> bytes:
        """An object's bytes, `gs://bucket/name`."""
        bucket, _, name = uri.removeprefix("gs://").partition("/")
        return self.storage.client(self.project).bucket(bucket).blob(name).download_as_bytes()

    def list_objects(self, bucket: str, prefix: str = "") -> list[str]:
        client = self.storage.client(self.project)
        return sorted(blob.name for blob in client.list_blobs(bucket, prefix=prefix))

    def split_prefix(self, annotated_dataset: str, run_id: str) -> str:
        """Where a run's split outputs are in SPLIT_BUCKET: `<dataset>/<annotated>/<run>/`, or
        `vertex/<location>/<dataset>/<run>/` for a Vertex AI dataset."""
        if "/locations/" in annotated_dataset:
            name = parse_vertex_dataset_name(annotated_dataset)
            return f"vertex/{name.location}/{name.dataset}/{run_id}/"
        name = parse_annotated_dataset_name(annotated_dataset)
        return f"{name.dataset}/{name.annotated_dataset}/{run_id}/"

    def split_outputs(self, annotated_dataset: str, run_id: str) -> dict[str, bytes]:
        """File name (train.csv, rejected.jsonl, manifest.json, ...) -> bytes, for one run."""
        prefix = self.split_prefix(annotated_dataset, run_id)
        return {name[len(prefix):]: self.read(f"gs://{self.split_bucket}/{name}")
                for name in self.list_objects(self.split_bucket, prefix)}

    def export_objects(self) -> list[str]:
        """Names of the export objects in EXPORT_BUCKET (`exports/...`)."""
        return self.list_objects(self.export_bucket, "exports/")

    def run_record(self, run_id: str) -> dict | None:
        """export_labeled_data's run record `runs/<run>.json` (in SPLIT_BUCKET), or None."""
        try:
            return json.loads(self.read(f"gs://{self.split_bucket}/runs/{run_id}.json"))
        except Exception as error:  # noqa: BLE001 - google's NotFound, without importing it
            if getattr(error, "code", None) == 404:
                return None
            raise

    def wait_for_run(self, run_id: str, states: Iterable[str] = ("done", "failed"),
                     timeout: float = 60.0) -> dict:
        """The run record once its state is one of `states` and no delivery follows its
        operation any more. (The result message can come first: split_export starts on the
        export's finalize event, while export_labeled_data may still be polling.)"""
        deadline = time.monotonic() + timeout
        states = tuple(states)
        while True:
            record = self.run_record(run_id)
            if record is not None and record.get("state") in states and not _followed(record):
                return record
            if time.monotonic() >= deadline:
                raise TimeoutError(f"run {run_id} is not {' or '.join(states)} after "
                                   f"{timeout:g} s: {record}")
            time.sleep(0.2)

    def wait_until_settled(self, timeout: float = 60.0) -> None:
        """Until every run record is done or failed and no delivery still follows its
        operation (before injecting Data Labeling faults that an older run must not take)."""
        for record in self.run_records():
            self.wait_for_run(record["runId"], timeout=timeout)

    def run_records(self) -> list[dict]:
        return [json.loads(self.read(f"gs://{self.split_bucket}/{name}"))
                for name in self.list_objects(self.split_bucket, "runs/")]

    # ------------------------------------------------------------------ by hand

    def gcloud_env(self) -> dict[str, str]:
        """What gcloud needs to use the emulators: API endpoint overrides (gcloud does not
        read PUBSUB_EMULATOR_HOST), and credentials switched off (none are needed)."""
        return {"CLOUDSDK_API_ENDPOINT_OVERRIDES_PUBSUB": f"http://{self.pubsub.host}/",
                "CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE": f"{self.storage.endpoint}/",
                "CLOUDSDK_AUTH_DISABLE_CREDENTIALS": "true"}

    def client_env(self) -> dict[str, str]:
        """What the Google client libraries (and so `labelexport`) need to use the emulators."""
        return {**self.pubsub.env(), **self.storage.env()}

    def shell_env_lines(self) -> list[str]:
        """`export` lines that point a shell's gcloud and labelexport at this pipeline."""
        return [f"export {name}={value}"
                for name, value in {**self.gcloud_env(), **self.client_env()}.items()]

    def commands(self, annotated_dataset: str | None = None, fmt: str = "csv",
                 inline_env: bool = True) -> dict[str, str]:
        """The shell commands a person runs against this pipeline, by purpose: publish,
        retry, results, dead_letters, list_splits, runs. With `inline_env` each carries the
        variables it needs; without, they assume `shell_env_lines()` was run."""
        annotated_dataset = annotated_dataset or self.annotated_dataset()
        gcloud = "gcloud"
        labelexport = _relative(LABELEXPORT)
        storage_env = ""
        if inline_env:
            gcloud = " ".join([*(f"{k}={v}" for k, v in self.gcloud_env().items()), gcloud])
            labelexport = f"PUBSUB_EMULATOR_HOST={self.pubsub.host} {labelexport}"
            storage_env = f"STORAGE_EMULATOR_HOST={self.storage.endpoint} "
        message = json.dumps({"dataset": annotated_dataset} if "/locations/" in annotated_dataset
                             else {"annotatedDataset": annotated_dataset, "format": fmt})
        results = self.results_subscription.rsplit("/", 1)[1]
        table = "table(message.attributes.status,message.attributes.runId,message.data)"
        return {
            "publish": (f"{gcloud} pubsub topics publish {COMPLETION_TOPIC} "
                        f"--project={self.project} --message={shlex.quote(message)}"),
            "retry": (f"{labelexport} retry {annotated_dataset} "
                      f"--topic {self.completion_topic} --format {fmt}"),
            "results": (f"{gcloud} pubsub subscriptions pull {results} "
                        f"--project={self.project} --auto-ack --limit=10 "
                        f"--format={shlex.quote(table)}"),
            "dead_letters": (f"{gcloud} pubsub subscriptions pull {DEAD_LETTER_HOLD} "
                             f"--project={self.project} --auto-ack --limit=10"),
            "list_splits": f"{gcloud} storage ls 'gs://{self.split_bucket}/**'",
            "runs": (f"{storage_env}{_relative(LABELEXPORT)} runs --bucket {self.split_bucket} "
                     f"--split-bucket {self.split_bucket}"),
        }

    def validate_command(self, uri: str, inline_env: bool = True) -> str:
        """`labelexport validate` of an object in the emulator: its counts per split."""
        env = f"STORAGE_EMULATOR_HOST={self.storage.endpoint} " if inline_env else ""
        return f"{env}{_relative(LABELEXPORT)} validate {uri}"

    def download_url(self, uri: str) -> str:
        """A plain-HTTP URL of an emulator object (for curl or a browser)."""
        from urllib.parse import quote

        bucket, _, name = uri.removeprefix("gs://").partition("/")
        return (f"{self.storage.endpoint}/download/storage/v1/b/{bucket}/o/"
                f"{quote(name, safe='')}?alt=media")


def _followed(record: dict) -> bool:
    """Whether a delivery may still follow the run's operation: split_export marked the run
    done when its export landed, before export_labeled_data recorded the operation's result."""
    return record.get("state") == "done" and "operation" in record and "result" not in record
