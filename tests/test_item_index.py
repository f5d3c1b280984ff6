"""ItemIndex: which split each data item went to, 8 bytes an item, through any growth."""

from __future__ import annotations

import random

import pytest
from labelexport.config import SplitPolicy
from labelexport.item_index import ItemIndex, item_digest
from labelexport.rejects import RowError
from labelexport.router import Router

TRAIN, VALIDATION, TEST, UNASSIGNED = range(4)


def test_setdefault_records_a_new_item_and_returns_the_first_split_after():
    index = ItemIndex()
    a, b = item_digest("gs://b/a.png"), item_digest("gs://b/b.png")
    assert index.setdefault(a, TEST) == TEST
    assert index.setdefault(a, TRAIN) == TEST  # already recorded: the first split wins
    assert index.setdefault(a, UNASSIGNED) == TEST
    assert index.setdefault(b, UNASSIGNED) == UNASSIGNED
    assert index.setdefault(b, VALIDATION) == UNASSIGNED
    assert len(index) == 2
    assert index.items == [0, 0, 1, 1]


@pytest.mark.parametrize("split", [TRAIN, VALIDATION, TEST, UNASSIGNED])
def test_every_split_index_round_trips(split):
    index = ItemIndex()
    digest = item_digest(f"item-{split}")
    assert index.setdefault(digest, split) == split
    assert index.setdefault(digest, (split + 1) % 4) == split


def test_digest_is_stable_and_tells_items_apart():
    assert item_digest("gs://b/a.png") == item_digest("gs://b/a.png")
    assert item_digest("gs://b/a.png") != item_digest("gs://b/a.png ")
    assert item_digest("gs://b/\udcff.png") != item_digest("gs://b/.png")  # lone surrogates
    assert 0 <= item_digest("x") < 1 << 128


@pytest.mark.parametrize(("expected", "count"), [(1, 100_000), (1 << 17, 70_000)])
def test_growth_keeps_every_item_and_its_split(expected, count):
    rng = random.Random(7)
    index = ItemIndex(expected)
    splits = {}
    for k in range(count):
        digest = item_digest(f"gs://bucket/{k}.jpg")
        split = rng.randrange(4)
        assert index.setdefault(digest, split) == split, k  # new: recorded as given
        splits[digest] = split
    assert len(index) == count
    for digest, split in splits.items():
        assert index.setdefault(digest, (split + 1) % 4) == split
    assert len(index) == count  # lookups added nothing
    assert index.items == [sum(1 for s in splits.values() if s == i) for i in range(4)]
    assert sum(index.items) == count


def test_items_per_split_count_distinct_items_only():
    index = ItemIndex()
    for k in range(10):
        for _ in range(3):
            index.setdefault(item_digest(f"i{k}"), k % 3)
    assert index.items == [4, 3, 3, 0]


def test_router_shares_the_index_counts_and_rejects_conflicts():
    router = Router(SplitPolicy("keep"))
    assert router.place("gs://b/a.png", UNASSIGNED) == UNASSIGNED
    assert router.place("gs://b/a.png", UNASSIGNED) == UNASSIGNED
    assert router.place("gs://b/b.png", TRAIN) == TRAIN
    with pytest.raises(RowError, match="ml_use_conflict"):
        router.place("gs://b/a.png", TEST)
    assert router.items == [1, 0, 0, 1]
