"""Deterministic split assignment of unassigned items by a stable hash of the item."""

from __future__ import annotations

from labelexport.ml_use import TEST, TRAIN, VALIDATION

_BUCKETS = 10_000


class HashAssigner:
    """Places an item in train/validation/test by its digest alone, so it never moves when
    rows are added or removed elsewhere."""

    def __init__(self, ratios: tuple[int, int, int]):
        train, validation, _ = ratios
        self._train_below = train * _BUCKETS // 100
        self._validation_below = (train + validation) * _BUCKETS // 100

    def split_of(self, digest: int) -> int:
        bucket = (digest >> 64) % _BUCKETS
        if bucket < self._train_below:
            return TRAIN
        if bucket < self._validation_below:
            return VALIDATION
        return TEST
