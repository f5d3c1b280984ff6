"""Run records, `runs/<run>.json` in EXPORT_BUCKET: what export_labeled_data has done for one
request. Created once (if_generation_match=0) and advanced with generation matches, so a
redelivered message finds the run where a crash left it and never starts a second export."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from labelexport.export_paths import run_record_name
from labelexport.gcs import ConcurrentWrite, GcsStore

REQUESTED, EXPORTING, DONE, FAILED = "requested", "exporting", "done", "failed"


def run_id_for(annotated_dataset: str, request_key: str) -> str:
    """A path-safe run id from the annotated dataset and the requestId (else message id)."""
    return hashlib.sha256(f"{annotated_dataset}\n{request_key}".encode()).hexdigest()[:20]


@dataclass
class StoredRun:
    record: dict
    generation: int
    created_here: bool = False  # this delivery created the record, so it starts the export

    @property
    def state(self) -> str:
        return self.record["state"]


class RunRecords:
    def __init__(self, store: GcsStore, bucket: str):
        self.store = store
        self.bucket = bucket

    def load(self, run_id: str) -> StoredRun | None:
        found = self.store.read_json(self.bucket, run_record_name(run_id))
        return StoredRun(*found) if found else None

    def create(self, record: dict) -> StoredRun:
        """Create the record; if another delivery created it first, return that one."""
        try:
            generation = self.store.write_json(self.bucket, run_record_name(record["runId"]),
                                               record, if_generation_match=0)
        except ConcurrentWrite:
            existing = self.load(record["runId"])
            if existing is None:
                raise
            return existing
        return StoredRun(record, generation, created_here=True)

    def advance(self, run: StoredRun, **changes: object) -> StoredRun:
        """Write the record with `changes`, only over the generation we read (else retry)."""
        record = {**run.record, **changes}
        generation = self.store.write_json(self.bucket, run_record_name(record["runId"]),
                                           record, if_generation_match=run.generation)
        return StoredRun(record, generation)
