"""Examples built from Google's own v1beta1 classes and printed by Google's printers: every one is
accepted, copied as it came, and read for the right data item and labels."""

import json
from collections import Counter

import pytest
from google_examples import PRINTERS, google_examples, parse_example
from labelexport.config import SplitPolicy
from splitting import run_split

KEEP = SplitPolicy(unassigned="keep")
EXAMPLES = google_examples()


@pytest.mark.parametrize("printer", sorted(PRINTERS))
@pytest.mark.parametrize("built", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_google_printed_example_is_accepted_with_its_item_and_labels(tmp_path, built, printer):
    line = PRINTERS[printer](built.example)
    assert parse_example(line) == built.example  # the line is what Google's parser reads back
    # A second line of the same example naming another split is refused as ml_use_conflict,
    # and the refusal names the data item the validator read from the first line.
    probe = json.dumps(json.loads(line) | {"mlUse": "TRAIN"})
    run = run_split(tmp_path, f"{line}\n{probe}\n", annotation_type=built.annotation_type,
                    policy=KEEP)
    assert run.manifest["rows"] == {"read": 2, "written": 1, "rejected": 1}, run.rejected()
    assert run.rows("unassigned") == [line]
    unassigned = run.manifest["splits"]["unassigned"]
    assert unassigned["items"] == 1
    assert unassigned["labels"] == dict(Counter(built.labels))
    (conflict,) = run.rejected()
    assert conflict["reason"] == "ml_use_conflict"
    assert conflict["detail"].startswith(f"{built.item} is in unassigned")


def test_the_printers_print_differently():
    """Each printer is a case of its own: on one example, no two give the same line."""
    built = next(e for e in EXAMPLES if e.form == "pixel")
    lines = {name: print_line(built.example) for name, print_line in PRINTERS.items()}
    assert len(set(lines.values())) == len(PRINTERS)
