"""Decides each accepted row's split and keeps the counts the manifest reports.

An item's split is fixed by its first accepted row: an explicit ML use, else (policy `assign`)
the hash assignment, else (policy `keep`) unassigned. Later rows of the item follow it when
unassigned and are rejected as ml_use_conflict when they name another split.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from labelexport import rejects
from labelexport.assignment import HashAssigner
from labelexport.config import SplitPolicy
from labelexport.item_index import ItemIndex, item_digest
from labelexport.ml_use import SPLITS, UNASSIGNED
from labelexport.rejects import RowError

# The first rejected rows are kept for the manifest, the report and the command line (all of
# them are in rejected.jsonl), their texts cut to TEXT_KEPT characters.
FIRST_REJECTED_KEPT = 100
TEXT_KEPT = 240


@dataclass
class Counts:
    """What the manifest reports of a run, by split index."""

    rows: list[int]
    items: list[int]
    labels: list[Counter[str]]
    rejected: Counter[str]
    first_rejected: list[dict] = field(default_factory=list)  # see Router.reject

    def plus(self, other: Counts, shared_items: list[int]) -> Counts:
        """The counts of two runs over consecutive parts of one export; `shared_items` are
        items (per split) both parts hold, counted once."""
        return Counts(
            rows=[a + b for a, b in zip(self.rows, other.rows, strict=True)],
            items=[a + b - c
                   for a, b, c in zip(self.items, other.items, shared_items, strict=True)],
            labels=[a + b for a, b in zip(self.labels, other.labels, strict=True)],
            rejected=self.rejected + other.rejected,
            first_rejected=(self.first_rejected + other.first_rejected)[:FIRST_REJECTED_KEPT],
        )


class Router:
    def __init__(self, policy: SplitPolicy, max_items: int | None = None):
        self._assigner = HashAssigner(policy.ratios) if policy.unassigned == "assign" else None
        self._index = ItemIndex(max_items)
        self.rows = [0, 0, 0, 0]
        self.items = self._index.items
        self.labels: list[Counter[str]] = [Counter(), Counter(), Counter(), Counter()]
        self.rejected: Counter[str] = Counter()
        self.first_rejected: list[dict] = []

    def place(self, item: str, ml_use: int) -> int:
        """The split of an accepted row; RowError(ml_use_conflict) if it cannot go there."""
        digest = item_digest(item)
        split = ml_use
        if split == UNASSIGNED and self._assigner is not None:
            split = self._assigner.split_of(digest)
        split = self._index.setdefault(digest, split)
        if ml_use != UNASSIGNED and ml_use != split:
            raise RowError(rejects.ML_USE_CONFLICT,
                           f"{item} is in {SPLITS[split]} by its first row; this row says "
                           f"{SPLITS[ml_use]}")
        return split

    def count(self, split: int, rows: int, labels: list[str]) -> None:
        """Add a batch of written rows of one split and all their labels."""
        self.rows[split] += rows
        self.labels[split].update(labels)

    def reject(self, record: dict) -> None:
        """Count a rejected row (its rejected.jsonl record); keep the first ones, cut short."""
        self.rejected[record["reason"]] += 1
        if len(self.first_rejected) < FIRST_REJECTED_KEPT:
            self.first_rejected.append(record | {"detail": record["detail"][:TEXT_KEPT],
                                                 "raw": record["raw"][:TEXT_KEPT]})

    @property
    def rows_read(self) -> int:
        return sum(self.rows) + sum(self.rejected.values())

    def counts(self) -> Counts:
        return Counts(list(self.rows), list(self.items), self.labels, self.rejected,
                      list(self.first_rejected))

    @property
    def index(self) -> ItemIndex:
        return self._index
