"""split_export's decisions, table by table: from the observed facts to what it does."""

from __future__ import annotations

import pytest
from labelexport.split_decision import Action, SplitFacts, closes_run, decide

G = 1_764_031_234_567_890  # the event's generation
OLDER, NEWER = G - 1, G + 1
FRESH, OLD = 5.0, 7200.0  # event ages, against a maximum of 3600 s


def facts(*, live=G, stored=None, outputs=0, age=FRESH, record_readable=True) -> SplitFacts:
    return SplitFacts(generation=G, live_generation=live, stored_from=stored,
                      newest_output_from=outputs, event_age_seconds=age, max_age_seconds=3600,
                      run_record_readable=record_readable)


@pytest.mark.parametrize(("case", "expected"), [
    # a result stored for this generation is announced again, whatever else holds
    (facts(stored=G), Action.ANNOUNCE_STORED),
    (facts(stored=G, age=OLD), Action.ANNOUNCE_STORED),
    (facts(stored=G, live=None), Action.ANNOUNCE_STORED),
    (facts(stored=G, live=NEWER), Action.ANNOUNCE_STORED),
    (facts(stored=G, record_readable=False), Action.ANNOUNCE_STORED),
    # newer outputs, or a newer or deleted object: skipped, however old the event
    (facts(stored=NEWER), Action.SKIP_SUPERSEDED),
    (facts(outputs=NEWER), Action.SKIP_SUPERSEDED),
    (facts(stored=OLDER, outputs=NEWER), Action.SKIP_SUPERSEDED),
    (facts(live=NEWER), Action.SKIP_SUPERSEDED),
    (facts(live=None), Action.SKIP_SUPERSEDED),
    (facts(live=None, age=OLD), Action.SKIP_SUPERSEDED),
    # the live generation, never split: the age, then the run record, decide
    (facts(age=OLD), Action.REFUSE_TOO_OLD),
    (facts(stored=OLDER, age=OLD), Action.REFUSE_TOO_OLD),
    (facts(age=OLD, record_readable=False), Action.REFUSE_TOO_OLD),
    (facts(record_readable=False), Action.FAIL_BAD_RUN_RECORD),
    (facts(), Action.SPLIT),
    (facts(age=3600.0), Action.SPLIT),
    (facts(stored=OLDER), Action.SPLIT),  # a new generation of an export split before
    (facts(outputs=G), Action.SPLIT),  # files of this generation, no manifest: a crash
    (facts(outputs=OLDER), Action.SPLIT),
])
def test_decide(case, expected):
    assert decide(case) is expected


@pytest.mark.parametrize(("state", "closes"), [
    ("requested", True), ("exporting", True), ("done", False), ("failed", False), (None, False),
])
def test_which_run_records_the_split_marks_done(state, closes):
    assert closes_run(state) is closes
