"""export_labeled_data's decisions, table by table: from the observed facts to the next act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from labelexport.export_decision import (
    DONE,
    EXPORTING,
    FAILED,
    REQUESTED,
    Action,
    ExportFacts,
    Followed,
    RunView,
    decide,
    export_certainly_not_started,
)

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(seconds=60)
EARLIER = NOW - timedelta(seconds=1)


def facts(run=None, *, age=10.0, time_left=300.0, landed=None, followed=None) -> ExportFacts:
    return ExportFacts(run=run, now=NOW, message_age_seconds=age, max_age_seconds=3600,
                       time_left_seconds=time_left, landed=landed, followed=followed)


@pytest.mark.parametrize(("age", "expected"), [
    (0.0, Action.CREATE_RUN),
    (3600.0, Action.CREATE_RUN),
    (3600.5, Action.REFUSE_TOO_OLD),
])
def test_no_record_yet(age, expected):
    assert decide(facts(None, age=age)) is expected


@pytest.mark.parametrize("run", [
    RunView(DONE), RunView(FAILED), RunView(REQUESTED, start_held_until=LATER),
    RunView(EXPORTING, has_operation=True),
])
def test_a_stored_run_wins_over_the_message_age(run):
    assert decide(facts(run, age=10**6)) not in (Action.REFUSE_TOO_OLD, Action.CREATE_RUN)


@pytest.mark.parametrize(("run", "time_left", "landed", "expected"), [
    # this delivery holds the start (it created the record, or claimed it)
    (RunView(REQUESTED, held_here=True, start_held_until=LATER), 300, None, Action.START_EXPORT),
    # another holds it: wait for it while this delivery has time, never refuse at once
    (RunView(REQUESTED, start_held_until=LATER), 300, None, Action.WAIT_FOR_HOLDER),
    (RunView(REQUESTED, start_held_until=LATER), 0, None, Action.RETRY_LATER),
    # the hold ended (the holder crashed) or was released: look before calling again
    (RunView(REQUESTED, start_held_until=EARLIER), 300, None, Action.LOOK_AT_DESTINATION),
    (RunView(REQUESTED, start_held_until=None), 300, None, Action.LOOK_AT_DESTINATION),
    (RunView(REQUESTED, start_held_until=EARLIER), 300, True, Action.ADOPT_EXPORT),
    (RunView(REQUESTED, start_held_until=EARLIER), 300, False, Action.CLAIM_START),
    (RunView(REQUESTED, start_held_until=EARLIER), 0, False, Action.CLAIM_START),
])
def test_requested(run, time_left, landed, expected):
    assert decide(facts(run, time_left=time_left, landed=landed)) is expected


EXPORTING_RUN = RunView(EXPORTING, has_operation=True)


@pytest.mark.parametrize(("followed", "time_left", "landed", "expected"), [
    (None, 300, None, Action.FOLLOW_OPERATION),
    (None, 0, None, Action.RETRY_LATER),
    (Followed.DONE, 0, None, Action.MARK_DONE),
    (Followed.ERROR, 0, None, Action.FAIL_OPERATION_ERROR),
    (Followed.RUNNING, 0, None, Action.RETRY_LATER),  # the record keeps the operation
    (Followed.LOST, 0, None, Action.LOOK_AT_DESTINATION),
    (Followed.LOST, 0, True, Action.ADOPT_EXPORT),
    (Followed.LOST, 0, False, Action.FAIL_OPERATION_LOST),
])
def test_exporting(followed, time_left, landed, expected):
    assert decide(facts(EXPORTING_RUN, time_left=time_left, landed=landed,
                        followed=followed)) is expected


@pytest.mark.parametrize(("run", "followed", "expected"), [
    (RunView(DONE, has_operation=True), None, Action.NOTHING),
    (RunView(DONE, has_operation=True, has_result=True), Followed.DONE, Action.NOTHING),
    # split_export marked it done while this delivery followed: the outcome is still recorded
    (RunView(DONE, has_operation=True), Followed.DONE, Action.MARK_DONE),
])
def test_done(run, followed, expected):
    assert decide(facts(run, followed=followed)) is expected


@pytest.mark.parametrize(("run", "expected"), [
    (RunView(FAILED), Action.REPEAT_FAILURE),
    (RunView(EXPORTING, has_operation=False), Action.BAD_RECORD),
    (RunView("exported"), Action.BAD_RECORD),
    (RunView("None"), Action.BAD_RECORD),
])
def test_finished_and_unknown_states(run, expected):
    assert decide(facts(run)) is expected


@pytest.mark.parametrize(("status", "not_started"), [
    (429, True), (503, True), (400, True), (403, True), (404, True),
    (500, False), (502, False), (504, False), (408, False), (None, False),
])
def test_which_failed_export_calls_release_the_start(status, not_started):
    assert export_certainly_not_started(status) is not_started
