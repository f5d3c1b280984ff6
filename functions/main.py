"""Cloud Functions (2nd gen) entry points: thin CloudEvent handlers.

Each parses its event, reads the configuration, and hands explicit arguments to the core.
Returning acknowledges the event; only a transient fault raises, so that the platform retries.
A permanent one is reported as a `failed` result and acknowledged, whichever step it came from.
Importing this module needs no credentials and no network: clients are created on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

import functions_framework
from labelexport import config, events, logs, pubsub
from labelexport.datalabeling import DataLabelingClient
from labelexport.errors import PermanentError, SourceError, TransientError
from labelexport.export_backends import backends
from labelexport.export_run import ExportRun
from labelexport.gcs import GcsStore
from labelexport.results import Results, ResultSubject
from labelexport.split_run import SplitRun
from labelexport.vertex_ai import VertexAIClient


@lru_cache(maxsize=4)
def _datalabeling(endpoint: str) -> DataLabelingClient:
    return DataLabelingClient(endpoint)


@lru_cache(maxsize=4)
def _vertex(endpoint: str) -> VertexAIClient:
    return VertexAIClient(endpoint)


def _clock() -> datetime:
    return datetime.now(UTC)


def _report_permanent(results: Results, error: Exception, subject: ResultSubject,
                      **fields: object) -> str:
    reason = getattr(error, "reason", None) or "permanent_error"
    try:
        results.fail(reason, str(error), subject, **fields)
    except PermanentError as unpublishable:
        logs.error(f"the failure could not be published either: {unpublishable}",
                   reason=reason, **fields)
    return "failed"


def _acknowledged(work: Callable[[], str], results: Results,
                  subject: Callable[[], ResultSubject], **fields: object) -> str:
    """Run `work`: a transient fault raises (retry); a permanent one becomes a `failed` result
    with the error's reason, and the event is acknowledged."""
    try:
        return work()
    except TransientError as exc:
        logs.warning(f"transient failure, the platform will retry: {exc}", **fields)
        raise
    except (PermanentError, SourceError) as exc:
        return _report_permanent(results, exc, subject(), **fields)


@functions_framework.cloud_event
def split_export(cloud_event) -> None:
    """google.cloud.storage.object.v1.finalized on EXPORT_BUCKET -> split into SPLIT_BUCKET."""
    settings = config.load_settings()
    results = Results(pubsub.publish_json, settings.results_topic, "split")
    event_id = str(events.attribute(cloud_event, "id") or "")[:events.MAX_ID_CHARS]
    try:
        event = events.parse_storage_event(cloud_event)
    except events.MalformedEvent as exc:
        _report_permanent(results, exc, ResultSubject(), eventId=event_id)
        return
    run = SplitRun(event, settings, GcsStore(), results, _clock)
    _acknowledged(run.run, results, lambda: run.subject, eventId=event.event_id)


@functions_framework.cloud_event
def export_labeled_data(cloud_event) -> None:
    """google.cloud.pubsub.topic.v1.messagePublished (labeling-complete) -> the export."""
    settings = config.load_settings()
    results = Results(pubsub.publish_json, settings.results_topic, "export")
    event_id = str(events.attribute(cloud_event, "id") or "")[:events.MAX_ID_CHARS]
    try:
        event = events.parse_pubsub_event(cloud_event)
    except events.MalformedEvent as exc:
        _report_permanent(results, exc, ResultSubject(), eventId=event_id)
        return
    store = GcsStore()
    run = ExportRun(event, settings, store,
                    backends(settings, store, _datalabeling(settings.datalabeling_endpoint),
                             _vertex(settings.vertex_endpoint)), results, _clock)
    _acknowledged(run.run, results, lambda: run.subject, messageId=event.message_id)
