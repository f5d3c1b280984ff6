"""Cloud Functions (2nd gen) entry points: thin CloudEvent handlers.

Each parses its event, reads the configuration, and hands explicit arguments to the core.
Returning acknowledges the event; raising (transient faults only) makes the platform retry.
Importing this module needs no credentials and no network: clients are created on first use.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

import functions_framework
from labelexport import config, events, logs, pubsub
from labelexport.datalabeling import DataLabelingClient
from labelexport.errors import TransientError
from labelexport.export_run import ExportRun
from labelexport.gcs import GcsStore
from labelexport.results import failure_report, result_attributes
from labelexport.split_run import SplitRun


@lru_cache(maxsize=4)
def _datalabeling(endpoint: str) -> DataLabelingClient:
    return DataLabelingClient(endpoint)


def _refuse_event(settings: config.Settings, stage: str, cloud_event, error: Exception) -> None:
    event_id = str(events.attribute(cloud_event, "id") or "")
    logs.error(f"malformed event: {error}", eventId=event_id, stage=stage)
    report = failure_report(stage, "malformed_event", str(error), eventId=event_id)
    pubsub.publish_json(settings.results_topic, report, result_attributes(status="failed"))


def _retrying(outcome_of, **fields) -> str:
    try:
        return outcome_of()
    except TransientError as exc:
        logs.warning(f"transient failure, the platform will retry: {exc}", **fields)
        raise


@functions_framework.cloud_event
def split_export(cloud_event) -> None:
    """google.cloud.storage.object.v1.finalized on EXPORT_BUCKET -> split into SPLIT_BUCKET."""
    settings = config.load_settings()
    try:
        event = events.parse_storage_event(cloud_event)
    except events.MalformedEvent as exc:
        _refuse_event(settings, "split", cloud_event, exc)
        return
    run = SplitRun(event, settings, GcsStore(), pubsub.publish_json, datetime.now(UTC))
    _retrying(run.run, source=event.uri, sourceGeneration=event.generation)


@functions_framework.cloud_event
def export_labeled_data(cloud_event) -> None:
    """google.cloud.pubsub.topic.v1.messagePublished (labeling-complete) -> exportData."""
    settings = config.load_settings()
    try:
        event = events.parse_pubsub_event(cloud_event)
    except events.MalformedEvent as exc:
        _refuse_event(settings, "export", cloud_event, exc)
        return
    run = ExportRun(event, settings, GcsStore(), _datalabeling(settings.datalabeling_endpoint),
                    pubsub.publish_json, datetime.now(UTC))
    _retrying(run.run, messageId=event.message_id)
