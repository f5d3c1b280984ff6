"""ML-use spellings accepted in exports and import files, and the canonical split names."""

from __future__ import annotations

TRAIN, VALIDATION, TEST, UNASSIGNED = 0, 1, 2, 3
SPLITS = ("train", "validation", "test", "unassigned")
# What an assigned CSV row's ML-use field is rewritten to (the export's own spelling).
CANONICAL_FIELD = ("TRAIN", "VALIDATION", "TEST", "UNASSIGNED")

_SPELLINGS = {
    "TRAIN": TRAIN, "TRAINING": TRAIN,
    "VALIDATION": VALIDATION, "VALIDATE": VALIDATION,
    "TEST": TEST, "TESTING": TEST,
    "UNASSIGNED": UNASSIGNED, "": UNASSIGNED,
}
# Exact-match table for the per-row hot path; parse() falls back to case folding.
_EXACT = {}
for _word, _split in _SPELLINGS.items():
    for _form in (_word, _word.lower(), _word.capitalize()):
        _EXACT[_form] = _split


def parse(value: str) -> int | None:
    """The split index an ML-use value names, or None if it is not an accepted spelling."""
    found = _EXACT.get(value)
    if found is None:
        found = _SPELLINGS.get(value.strip().upper())
    return found


EXACT_SPELLINGS = _EXACT
