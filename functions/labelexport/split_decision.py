"""What split_export does with a finalize event of an export object, decided from what it has
observed: the event's generation and age, the live generation of the object, the stored
manifest and the generation it was made from, the source generations of the split files
already there, and whether the run record could be read.

Pure: no I/O, no clock. The rules, in this order:

1. Outputs of another export in the same folder: a `failed` result, nothing overwritten (one
   folder holds one export).
2. A result stored for this very generation is announced again, whatever the event's age: a
   late redelivery never overrides a finished split.
3. Outputs (manifest or split files) made from a newer generation win: skipped.
4. An event whose generation is no longer the live one (overwritten or deleted): skipped.
5. An event older than EVENT_MAX_AGE_SECONDS: dropped with a `failed` result.
6. A run record that exists but cannot be read: a `failed` result (the annotation type it
   holds cannot be known).
7. Otherwise: split.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from labelexport.export_decision import EXPORTING, REQUESTED


class Action(Enum):
    FAIL_PREFIX_TAKEN = "prefix_taken"
    ANNOUNCE_STORED = "duplicate"
    SKIP_SUPERSEDED = "superseded"
    REFUSE_TOO_OLD = "too_old"
    FAIL_BAD_RUN_RECORD = "bad_run_record"
    SPLIT = "split"


@dataclass(frozen=True)
class SplitFacts:
    generation: int  # the event's
    live_generation: int | None  # None: the object no longer exists
    stored_from: int | None  # the source generation of the stored manifest; None: none
    newest_output_from: int  # the newest source generation among the split files; 0: none
    event_age_seconds: float
    max_age_seconds: float
    run_record_readable: bool = True  # False: it exists but is not a JSON object
    stored_for_another_source: bool = False  # the stored manifest is another object's split


def decide(facts: SplitFacts) -> Action:
    if facts.stored_for_another_source:
        return Action.FAIL_PREFIX_TAKEN
    if facts.stored_from == facts.generation:
        return Action.ANNOUNCE_STORED
    if (facts.stored_from or 0) > facts.generation or facts.newest_output_from > facts.generation:
        return Action.SKIP_SUPERSEDED
    if facts.live_generation != facts.generation:
        return Action.SKIP_SUPERSEDED
    if facts.event_age_seconds > facts.max_age_seconds:
        return Action.REFUSE_TOO_OLD
    if not facts.run_record_readable:
        return Action.FAIL_BAD_RUN_RECORD
    return Action.SPLIT


def closes_run(state: str | None) -> bool:
    """Whether split_export, having announced a result for a run's export, marks the run
    `done`: the export has landed, so a run still `requested` or `exporting` (its operation
    outlived every delivery, or the delivery that started it crashed) is done."""
    return state in (REQUESTED, EXPORTING)
