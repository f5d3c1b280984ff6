"""What export_labeled_data does next for a run, decided from what it has observed: the run
record (its state, who holds the start and until when), the message's age, whether the export
has already landed at the run's destination, and how following the operation ended.

Pure: no I/O, no clock. `ExportRun` observes, asks `decide`, acts, and asks again, until the
answer ends the delivery. The rules:

- A stored run wins over the message's age: only a message that would start a new run is
  refused as too old.
- Exactly one delivery at a time may call the export: the one holding the start (it created
  the record, or claimed it once no other held it). Another delivery waits for the holder, as
  long as its own time allows, rather than being refused: a refusal burns a delivery attempt.
- A delivery that takes over a start whose holder vanished first looks at the destination: an
  export that landed there was started by the holder and is adopted, not made again.
- A run whose operation is still running when the delivery's time is up is retried: the
  record keeps the operation, and the next delivery (or split_export, when the export lands)
  finishes the run. A delivery that sees the operation end records its outcome even in a run
  split_export has already marked done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

REQUESTED, EXPORTING, DONE, FAILED = "requested", "exporting", "done", "failed"


class Followed(Enum):
    """How following the run's operation ended, in this delivery."""

    DONE = "done"  # finished with a response
    ERROR = "error"  # finished with an error
    RUNNING = "running"  # still running when the delivery's time was up
    LOST = "lost"  # the service does not know the operation (404 and the like)


class Action(Enum):
    REFUSE_TOO_OLD = "refuse_too_old"  # failed result, no run
    CREATE_RUN = "create_run"  # look the dataset up, create the record (holding the start)
    WAIT_FOR_HOLDER = "wait_for_holder"  # another delivery holds the start: observe again
    LOOK_AT_DESTINATION = "look_at_destination"  # has the export landed already?
    CLAIM_START = "claim_start"  # take the start over from a holder that vanished
    START_EXPORT = "start_export"  # call the export, record its operation
    ADOPT_EXPORT = "adopt_export"  # the export landed: the run is done, nothing is called
    FOLLOW_OPERATION = "follow_operation"
    MARK_DONE = "mark_done"
    FAIL_OPERATION_ERROR = "fail_operation_error"
    FAIL_OPERATION_LOST = "fail_operation_lost"
    REPEAT_FAILURE = "repeat_failure"  # the run failed before: announce that result again
    NOTHING = "nothing"  # the run is done
    RETRY_LATER = "retry_later"  # raise: the platform redelivers the message
    BAD_RECORD = "bad_record"  # the record has a state no version of this code writes


@dataclass(frozen=True)
class RunView:
    """What the decision needs of a run record."""

    state: str
    held_here: bool = False  # this delivery holds the start
    start_held_until: datetime | None = None  # another delivery's hold, while it lasts
    has_operation: bool = False
    has_result: bool = False  # the operation's outcome is recorded (not only split_export's)


@dataclass(frozen=True)
class ExportFacts:
    run: RunView | None  # None: no record yet
    now: datetime
    message_age_seconds: float
    max_age_seconds: float
    time_left_seconds: float  # of this delivery's budget for waiting and following
    landed: bool | None = None  # None: not looked at yet
    followed: Followed | None = None  # None: not followed in this delivery


def decide(facts: ExportFacts) -> Action:
    run = facts.run
    if run is None:
        if facts.message_age_seconds > facts.max_age_seconds:
            return Action.REFUSE_TOO_OLD
        return Action.CREATE_RUN
    if run.state == DONE:  # split_export may have marked it done while this delivery followed
        if facts.followed is Followed.DONE and not run.has_result:
            return Action.MARK_DONE
        return Action.NOTHING
    if run.state == FAILED:
        return Action.REPEAT_FAILURE
    if run.state == REQUESTED:
        return _requested(run, facts)
    if run.state == EXPORTING and run.has_operation:
        return _exporting(facts)
    return Action.BAD_RECORD


def _requested(run: RunView, facts: ExportFacts) -> Action:
    if run.held_here:
        return Action.START_EXPORT
    if run.start_held_until is not None and run.start_held_until > facts.now:
        return Action.WAIT_FOR_HOLDER if facts.time_left_seconds > 0 else Action.RETRY_LATER
    if facts.landed is None:
        return Action.LOOK_AT_DESTINATION
    return Action.ADOPT_EXPORT if facts.landed else Action.CLAIM_START


def _exporting(facts: ExportFacts) -> Action:
    followed = facts.followed
    if followed is None:
        return Action.FOLLOW_OPERATION if facts.time_left_seconds > 0 else Action.RETRY_LATER
    if followed is Followed.DONE:
        return Action.MARK_DONE
    if followed is Followed.ERROR:
        return Action.FAIL_OPERATION_ERROR
    if followed is Followed.RUNNING:
        return Action.RETRY_LATER
    if facts.landed is None:  # lost: the export may have landed before the service forgot it
        return Action.LOOK_AT_DESTINATION
    return Action.ADOPT_EXPORT if facts.landed else Action.FAIL_OPERATION_LOST


# Answers to the export call after which the export certainly did not start: the start may be
# released at once. After any other failure (a timeout, a lost connection, 500, 504) it may
# have started, so the hold is kept and a later takeover first looks at the destination.
NOT_STARTED_HTTP_STATUSES = frozenset({400, 401, 403, 404, 409, 429, 503})


def export_certainly_not_started(http_status: int | None) -> bool:
    return http_status in NOT_STARTED_HTTP_STATUSES
