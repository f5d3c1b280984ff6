"""Label-balance warnings of a split, from its counts alone: what a person should look at before
training on it. A warning never changes a run's status.

Each warning is a small dict with a stable `code`:

- `split_empty`: train, validation or test holds no item, though the policy fills it (`keep`:
  the export's own ML uses fill all three; `assign`: each split whose ratio is above 0).
- `split_off_ratio` (`assign` only): a split's share of the items is off its ratio by more than
  the tolerance, max(5 percentage points, 3 standard deviations of a hash split of that many
  items); what the export's own ML uses placed counts too.
- `label_missing_from_split`: a label that another of train, validation and test has, and that
  this one (not empty) lacks.
- `label_rare_in_split`: a label with fewer than MIN_ITEMS_PER_LABEL in a split that has it
  (1, the default, turns this off). The count is the manifest's per-label count: the label's
  annotations in the split (a CSV row each, one per item for classification).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

from labelexport.config import SplitPolicy
from labelexport.ml_use import SPLITS

SPLIT_EMPTY = "split_empty"
SPLIT_OFF_RATIO = "split_off_ratio"
LABEL_MISSING_FROM_SPLIT = "label_missing_from_split"
LABEL_RARE_IN_SPLIT = "label_rare_in_split"
CODES = (SPLIT_EMPTY, SPLIT_OFF_RATIO, LABEL_MISSING_FROM_SPLIT, LABEL_RARE_IN_SPLIT)

OFF_RATIO_MIN_POINTS = 5.0
OFF_RATIO_SIGMAS = 3.0
TRAINING_SPLITS = SPLITS[:3]  # train, validation, test: what training reads


class SplitCount(NamedTuple):
    items: int
    labels: Mapping[str, int]


def off_ratio_tolerance(ratio_percent: float, items: int) -> float:
    """How far (in percentage points) a split's share of `items` may be from its ratio."""
    share = ratio_percent / 100
    sigma = 100 * math.sqrt(share * (1 - share) / items) if items else 0.0
    return max(OFF_RATIO_MIN_POINTS, OFF_RATIO_SIGMAS * sigma)


def _filled(policy: SplitPolicy) -> list[str]:
    if policy.unassigned == "assign":
        return [name for name, ratio in zip(TRAINING_SPLITS, policy.ratios, strict=True)
                if ratio > 0]
    return list(TRAINING_SPLITS)


def split_warnings(splits: Mapping[str, SplitCount], policy: SplitPolicy,
                   expected: tuple[str, ...] = TRAINING_SPLITS) -> list[dict]:
    """The warnings of a split's counts (split name -> items and per-label counts), in a
    stable order: empty splits, off ratios, then labels split by split, by label. Only the
    `expected` splits are judged (a format's datasets may have no validation items)."""
    present = {name: splits[name] for name in TRAINING_SPLITS
               if name in splits and name in expected}
    warnings: list[dict] = [{"code": SPLIT_EMPTY, "split": name} for name in _filled(policy)
                            if name in present and present[name].items == 0]
    if policy.unassigned == "assign" and expected == TRAINING_SPLITS:  # ratios of all three
        total = sum(count.items for count in present.values())
        for name, ratio in zip(TRAINING_SPLITS, policy.ratios, strict=True):
            if name not in present or present[name].items == 0 or not total:
                continue
            share = 100 * present[name].items / total
            tolerance = off_ratio_tolerance(ratio, total)
            if abs(share - ratio) > tolerance:
                warnings.append({"code": SPLIT_OFF_RATIO, "split": name,
                                 "sharePercent": round(share, 1), "ratioPercent": ratio,
                                 "tolerancePercent": round(tolerance, 1)})
    filled = {name: count for name, count in present.items() if count.items > 0}
    labels = sorted({label for count in filled.values()
                     for label, n in count.labels.items() if n > 0})
    for name, count in filled.items():
        for label in labels:
            n = count.labels.get(label, 0)
            if n == 0:
                warnings.append({"code": LABEL_MISSING_FROM_SPLIT, "label": label,
                                 "split": name})
            elif n < policy.min_items_per_label:
                warnings.append({"code": LABEL_RARE_IN_SPLIT, "label": label, "split": name,
                                 "count": n, "minimum": policy.min_items_per_label})
    return warnings


def describe(warning: dict) -> str:
    """One line a person reads, e.g. "label 'tulip' has no item in test"."""
    code = warning["code"]
    if code == SPLIT_EMPTY:
        return f"{warning['split']} has no item"
    if code == SPLIT_OFF_RATIO:
        return (f"{warning['split']} holds {warning['sharePercent']:g}% of the items, not "
                f"{warning['ratioPercent']:g}% (tolerance {warning['tolerancePercent']:g} "
                "points)")
    if code == LABEL_MISSING_FROM_SPLIT:
        return f"label {warning['label']!r} has no item in {warning['split']}"
    if code == LABEL_RARE_IN_SPLIT:
        return (f"label {warning['label']!r} has {warning['count']} in {warning['split']}, "
                f"below the minimum of {warning['minimum']}")
    return code
