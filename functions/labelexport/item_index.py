"""Remembers which split each data item went to, in 11 to 22 bytes an item.

A dict of millions of keys costs over 100 bytes an item; this open-addressing table keeps a
61-bit digest of each item with its split in the low bits, in 8-byte slots. It is cut by the
digest's top bits into SEGMENTS tables, each doubled on its own when it is three quarters
full: a growth holds one segment twice, never the whole table, so the peak stays within a few
percent of the table. Each segment is an anonymous memory map, so that the one it replaces is
given back to the system at once instead of staying in the heap, fragmented.

Callers look an item up only when it differs from the previous row's, which keeps the
Python-level probing off the per-row path of exports that list an item's rows together.
"""

from __future__ import annotations

import hashlib
import math
import mmap

from labelexport.errors import TooManyItems

_SPLIT_BITS = 0b111  # the split index + 1 lives here, so that 0 marks an empty slot
_KEY_MASK = 0xFFFF_FFFF_FFFF_FFF8
_SEGMENT_SHIFT = 58  # the key's top 6 bits pick its segment
SEGMENTS = 1 << (64 - _SEGMENT_SHIFT)
_FIRST_SLOTS = 1 << 10  # per segment: 512 KiB in all to start with
# A segment grows when over MAX_LOAD full, so it is at least half that full after: an item
# costs at most this many bytes of slots, plus one growing segment.
MAX_LOAD = 0.75
MAX_BYTES_PER_ITEM = math.ceil(8 / (MAX_LOAD / 2))  # 22


def item_digest(item: str) -> int:
    """A stable 128-bit digest of an item: the low half identifies it, the high half places it
    in a split (see assignment.py)."""
    return int.from_bytes(
        hashlib.blake2b(item.encode("utf-8", "surrogatepass"), digest_size=16).digest(), "little")


def _empty_slots(count: int) -> memoryview:
    return memoryview(mmap.mmap(-1, 8 * count)).cast("Q")  # zero-filled


def items_within(table_bytes: int) -> int:
    """How many distinct items the index holds in `table_bytes`, however it has grown."""
    return max(0, table_bytes // MAX_BYTES_PER_ITEM)


class ItemIndex:
    def __init__(self, max_items: int | None = None):
        """`max_items`: more distinct items raise TooManyItems (None: no limit)."""
        self._segments = [_empty_slots(_FIRST_SLOTS) for _ in range(SEGMENTS)]
        self._filled = [0] * SEGMENTS  # items per segment
        self._count = 0
        self._max_items = max_items
        self.items = [0, 0, 0, 0]  # distinct items per split index

    def __len__(self) -> int:
        return self._count

    @property
    def table_bytes(self) -> int:
        return sum(8 * len(slots) for slots in self._segments)

    def __getstate__(self) -> dict:  # a memory map does not pickle: its slots as bytes do
        return self.__dict__ | {"_segments": [slots.tobytes() for slots in self._segments]}

    def __setstate__(self, state: dict) -> None:
        segments = []
        for data in state.pop("_segments"):
            slots = _empty_slots(len(data) // 8)
            slots.cast("B")[:] = data
            segments.append(slots)
        self.__dict__.update(state, _segments=segments)

    def setdefault(self, digest: int, split: int) -> int:
        """The split recorded for the item; a new item is recorded with `split`."""
        key = digest & _KEY_MASK
        segment = key >> _SEGMENT_SHIFT
        slots = self._segments[segment]
        mask = len(slots) - 1
        i = (key >> 3) & mask
        while True:
            slot = slots[i]
            if not slot:
                break
            if slot & _KEY_MASK == key:
                return (slot & _SPLIT_BITS) - 1
            i = (i + 1) & mask
        if self._count == self._max_items:
            raise TooManyItems(self._count)
        slots[i] = key | (split + 1)
        self.items[split] += 1
        self._count += 1
        filled = self._filled[segment] = self._filled[segment] + 1
        if filled > MAX_LOAD * len(slots):
            self._grow(segment)
        return split

    def shared_with(self, other: ItemIndex) -> list[int] | None:
        """Per split, how many items both indexes hold; None if one of them is in different
        splits in the two."""
        shared = [0, 0, 0, 0]
        for segment, theirs in enumerate(other._segments):
            slots = self._segments[segment]
            mask = len(slots) - 1
            for value in filter(None, theirs):
                key = value & _KEY_MASK
                i = (key >> 3) & mask
                while slot := slots[i]:
                    if slot & _KEY_MASK == key:
                        if slot != value:
                            return None
                        shared[(value & _SPLIT_BITS) - 1] += 1
                        break
                    i = (i + 1) & mask
        return shared

    def _grow(self, segment: int) -> None:
        old = self._segments[segment]
        slots = _empty_slots(2 * len(old))
        mask = len(slots) - 1
        for value in filter(None, old):  # the recorded items only, skipped in C
            i = (value >> 3) & mask
            while slots[i]:
                i = (i + 1) & mask
            slots[i] = value
        self._segments[segment] = slots
