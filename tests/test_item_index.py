"""ItemIndex: which split each data item went to, in at most 22 bytes an item, through any
growth, and a clear refusal past its limit."""

from __future__ import annotations

import pickle
import random

import pytest
from labelexport.config import SplitPolicy
from labelexport.errors import TooManyItems
from labelexport.item_index import MAX_BYTES_PER_ITEM, ItemIndex, item_digest
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


@pytest.mark.parametrize("count", [1, 48_000, 300_000])  # none, some, all segments grown
def test_growth_keeps_every_item_and_its_split(count):
    rng = random.Random(7)
    index = ItemIndex()
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


@pytest.mark.parametrize("count", [100_000, 400_000, 1_000_000])
def test_the_table_stays_within_its_bytes_per_item(count):
    index = ItemIndex()
    rng = random.Random(count).getrandbits
    for _ in range(count):
        index.setdefault(rng(128), 0)
    assert index.table_bytes <= MAX_BYTES_PER_ITEM * count  # so items_within's bound holds


def test_items_that_share_their_home_slot_are_all_kept():
    index = ItemIndex()
    home = 0b101 << 3  # same segment (top bits 0) and slot: only the bits above tell them apart
    digests = [home | (k << 20) for k in range(40)]
    for k, digest in enumerate(digests):
        assert index.setdefault(digest, k % 4) == k % 4
    assert [index.setdefault(digest, 0) for digest in digests] == [k % 4 for k in range(40)]
    assert len(index) == 40


def test_one_item_over_the_limit_is_refused_and_nothing_is_recorded():
    index = ItemIndex(max_items=3)
    for k in range(3):
        index.setdefault(item_digest(f"i{k}"), TRAIN)
    assert index.setdefault(item_digest("i0"), TEST) == TRAIN  # a known item still answers
    with pytest.raises(TooManyItems, match="more than 3 distinct data items") as refused:
        index.setdefault(item_digest("i3"), TRAIN)
    assert refused.value.reason == "too_many_items" and refused.value.limit == 3
    assert len(index) == 3 and index.items == [3, 0, 0, 0]


def test_an_index_crosses_processes_by_pickle():
    index = ItemIndex()
    for k in range(70_000):
        index.setdefault(item_digest(f"i{k}"), k % 3)
    copy = pickle.loads(pickle.dumps(index))
    assert len(copy) == 70_000 and copy.items == index.items
    assert index.shared_with(copy) == index.items[:3] + [0]
    assert copy.setdefault(item_digest("i4"), TEST) == VALIDATION
    assert copy.setdefault(item_digest("new"), TEST) == TEST and len(index) == 70_000


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


def test_the_router_passes_its_limit_to_the_index():
    router = Router(SplitPolicy("keep"), max_items=1)
    router.place("gs://b/a.png", TRAIN)
    with pytest.raises(TooManyItems):
        router.place("gs://b/b.png", TRAIN)
