"""Remembers which split each data item went to, in 8 bytes an item.

A dict of millions of keys costs over 100 bytes an item; this open-addressing table keeps a
61-bit digest of each item with its split in the low bits, in one array('Q'). Callers look an
item up only when it differs from the previous row's, which keeps the Python-level probing off
the per-row path of exports that list an item's rows together.
"""

from __future__ import annotations

import hashlib
from array import array

_SPLIT_BITS = 0b111  # the split index + 1 lives here, so that 0 marks an empty slot
_KEY_MASK = 0xFFFF_FFFF_FFFF_FFF8


def item_digest(item: str) -> int:
    """A stable 128-bit digest of an item: the low half identifies it, the high half places it
    in a split (see assignment.py)."""
    return int.from_bytes(
        hashlib.blake2b(item.encode("utf-8", "surrogatepass"), digest_size=16).digest(), "little")


class ItemIndex:
    def __init__(self, capacity: int = 1 << 16):  # a power of two; doubled as items come
        self._slots = array("Q", bytes(8 * capacity))
        self._mask = capacity - 1
        self._count = 0
        self.items = [0, 0, 0, 0]  # distinct items per split index

    def __len__(self) -> int:
        return self._count

    def setdefault(self, digest: int, split: int) -> int:
        """The split recorded for the item; a new item is recorded with `split`."""
        key = digest & _KEY_MASK
        slots, mask = self._slots, self._mask
        i = key & mask
        while True:
            slot = slots[i]
            if not slot:
                break
            if slot & _KEY_MASK == key:
                return (slot & _SPLIT_BITS) - 1
            i = (i + 1) & mask
        slots[i] = key | (split + 1)
        self.items[split] += 1
        self._count += 1
        if 2 * self._count > len(slots):
            self._grow()
        return split

    def shared_with(self, other: ItemIndex) -> list[int] | None:
        """Per split, how many items both indexes hold; None if one of them is in different
        splits in the two."""
        shared = [0, 0, 0, 0]
        slots, mask = self._slots, self._mask
        for value in other._slots:
            if not value:
                continue
            key = value & _KEY_MASK
            i = key & mask
            while slot := slots[i]:
                if slot & _KEY_MASK == key:
                    if slot != value:
                        return None
                    shared[(value & _SPLIT_BITS) - 1] += 1
                    break
                i = (i + 1) & mask
        return shared

    def _grow(self) -> None:
        old = self._slots
        slots = self._slots = array("Q", bytes(16 * len(old)))
        mask = self._mask = len(slots) - 1
        for value in filter(None, old):  # the recorded items only, skipped in C
            i = value & _KEY_MASK & mask
            while slots[i]:
                i = (i + 1) & mask
            slots[i] = value
