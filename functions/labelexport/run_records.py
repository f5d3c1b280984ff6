"""Run records, `runs/<run>.json` in SPLIT_BUCKET: what export_labeled_data has done for one
request. Created once (if_generation_match=0) and advanced with generation matches, so a
redelivered message finds the run where a crash left it and never starts a second export.

They live in SPLIT_BUCKET, not in EXPORT_BUCKET: a write there triggers nothing (every object
finalized in EXPORT_BUCKET is a split_export invocation), and split_export, which never writes
EXPORT_BUCKET, may mark a run done when its export lands."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from labelexport.config import Settings
from labelexport.export_paths import run_record_name
from labelexport.gcs import ConcurrentWrite, GcsStore


def run_id_for(annotated_dataset: str, request_key: str) -> str:
    """A path-safe run id from the annotated dataset and the requestId (else message id)."""
    return hashlib.sha256(f"{annotated_dataset}\n{request_key}".encode()).hexdigest()[:20]


def records_bucket(settings: Settings) -> str:
    return settings.split_bucket


@dataclass(frozen=True)
class StoredRun:
    record: dict
    generation: int

    @property
    def state(self) -> str:
        return str(self.record.get("state"))


class RunRecords:
    def __init__(self, store: GcsStore, bucket: str):
        self.store = store
        self.bucket = bucket

    def uri(self, run_id: str) -> str:
        return f"gs://{self.bucket}/{run_record_name(run_id)}"

    def load(self, run_id: str) -> StoredRun | None:
        """The record, or None; UnreadableObject if it is not a JSON object."""
        found = self.store.read_json(self.bucket, run_record_name(run_id))
        return StoredRun(*found) if found else None

    def create(self, record: dict) -> StoredRun | None:
        """Create the record; None if another delivery created it first."""
        try:
            generation = self.store.write_json(self.bucket, run_record_name(record["runId"]),
                                               record, if_generation_match=0)
        except ConcurrentWrite:
            return None
        return StoredRun(record, generation)

    def advance(self, run: StoredRun, **changes: object) -> StoredRun:
        """Write the record with `changes`, only over the generation we read (else
        ConcurrentWrite: observe again)."""
        record = {**run.record, **changes}
        generation = self.store.write_json(self.bucket, run_record_name(record["runId"]),
                                           record, if_generation_match=run.generation)
        return StoredRun(record, generation)
