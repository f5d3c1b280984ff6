"""Label-balance warnings: a pure function of a split's counts, table by table."""

from __future__ import annotations

import pytest
from labelexport.config import SplitPolicy, load_settings
from labelexport.errors import ConfigError
from labelexport.split_warnings import (
    CODES,
    SplitCount,
    describe,
    off_ratio_tolerance,
    split_warnings,
)

ASSIGN = SplitPolicy()  # assign 80/10/10, MIN_ITEMS_PER_LABEL 1 (off)
KEEP = SplitPolicy(unassigned="keep")


def counts(**splits: tuple[int, dict[str, int]]) -> dict[str, SplitCount]:
    return {name: SplitCount(items, labels) for name, (items, labels) in splits.items()}


BALANCED = counts(train=(80, {"rose": 80, "tulip": 70}), validation=(10, {"rose": 9, "tulip": 8}),
                  test=(10, {"rose": 10, "tulip": 9}))


# --------------------------------------------------------------------------- split_empty

@pytest.mark.parametrize(("policy", "splits", "empty"), [
    (ASSIGN, BALANCED, []),
    (ASSIGN, counts(train=(90, {}), validation=(10, {}), test=(0, {})), ["test"]),
    (ASSIGN, counts(train=(0, {}), validation=(0, {}), test=(0, {})),
     ["train", "validation", "test"]),  # every row rejected
    (SplitPolicy(ratios=(90, 0, 10)), counts(train=(90, {}), validation=(0, {}), test=(10, {})),
     []),  # a ratio of 0 asks for an empty split
    (KEEP, counts(train=(5, {}), validation=(0, {}), test=(3, {}), unassigned=(90, {})),
     ["validation"]),  # keep: the export's own ML uses fill train, validation and test
    (KEEP, counts(train=(5, {}), validation=(1, {}), test=(3, {}), unassigned=(0, {})), []),
])
def test_split_empty(policy, splits, empty):
    found = [w for w in split_warnings(splits, policy) if w["code"] == "split_empty"]
    assert found == [{"code": "split_empty", "split": name} for name in empty]


# --------------------------------------------------------------------------- split_off_ratio

@pytest.mark.parametrize(("ratio", "items", "tolerance"), [
    (10, 100, 9.0),  # 3 sigma of a hash split of 100 items: 3 * sqrt(.1 * .9 / 100)
    (10, 10_000, 5.0),  # large: the 5-point floor
    (80, 400, 6.0),
    (0, 50, 5.0),
    (100, 50, 5.0),
    (50, 0, 5.0),
])
def test_off_ratio_tolerance(ratio, items, tolerance):
    assert off_ratio_tolerance(ratio, items) == pytest.approx(tolerance)


@pytest.mark.parametrize(("policy", "splits", "off"), [
    (ASSIGN, BALANCED, []),
    # 10,000 items: 70 / 20 / 10 is 10 points off for train and validation; test is on ratio
    (ASSIGN, counts(train=(7000, {}), validation=(2000, {}), test=(1000, {})),
     [("train", 70.0, 80, 5.0), ("validation", 20.0, 10, 5.0)]),
    # 100 items: a 7-point miss is within the 9-point tolerance of a small split, 10 is not
    (ASSIGN, counts(train=(80, {}), validation=(17, {}), test=(3, {})), []),
    (ASSIGN, counts(train=(78, {}), validation=(20, {}), test=(2, {})),
     [("validation", 20.0, 10, 9.0)]),
    # an empty split is split_empty, not also off its ratio (the others may be)
    (ASSIGN, counts(train=(900, {}), validation=(100, {}), test=(0, {})),
     [("train", 90.0, 80, 5.0)]),
    # explicit ML uses into a split the ratios leave empty
    (SplitPolicy(ratios=(90, 10, 0)), counts(train=(800, {}), validation=(100, {}), test=(100, {})),
     [("train", 80.0, 90, 5.0), ("test", 10.0, 0, 5.0)]),
    (KEEP, counts(train=(10, {}), validation=(45, {}), test=(45, {}), unassigned=(900, {})), []),
])
def test_split_off_ratio(policy, splits, off):
    found = [w for w in split_warnings(splits, policy) if w["code"] == "split_off_ratio"]
    assert found == [{"code": "split_off_ratio", "split": name, "sharePercent": share,
                      "ratioPercent": ratio, "tolerancePercent": tolerance}
                     for name, share, ratio, tolerance in off]


# --------------------------------------------------------------------------- labels

@pytest.mark.parametrize(("policy", "splits", "missing"), [
    (ASSIGN, BALANCED, []),
    (ASSIGN, counts(train=(80, {"rose": 80, "tulip": 5}), validation=(10, {"rose": 10}),
                    test=(10, {"rose": 9, "tulip": 1})), [("tulip", "validation")]),
    (ASSIGN, counts(train=(80, {"rose": 80, "tulip": 5}), validation=(10, {"rose": 10}),
                    test=(10, {"rose": 9})), [("tulip", "validation"), ("tulip", "test")]),
    # a label that only validation or test has is missing from train
    (ASSIGN, counts(train=(80, {"rose": 80}), validation=(10, {"rose": 9, "iris": 1}),
                    test=(10, {"rose": 10})), [("iris", "train"), ("iris", "test")]),
    # an empty split says split_empty once, not once per label
    (ASSIGN, counts(train=(90, {"rose": 80, "tulip": 5}), validation=(10, {"rose": 9,
                    "tulip": 1}), test=(0, {})), []),
    # unassigned (keep) is not a training split: its labels are not asked for elsewhere
    (KEEP, counts(train=(10, {"rose": 10}), validation=(5, {"rose": 5}), test=(5, {"rose": 5}),
                  unassigned=(50, {"rose": 40, "iris": 10})), []),
    # a count of 0 is no label
    (ASSIGN, counts(train=(80, {"rose": 80, "tulip": 0}), validation=(10, {"rose": 9}),
                    test=(10, {"rose": 10})), []),
    (ASSIGN, counts(train=(80, {}), validation=(10, {}), test=(10, {})), []),
])
def test_label_missing_from_split(policy, splits, missing):
    found = [w for w in split_warnings(splits, policy) if w["code"] == "label_missing_from_split"]
    assert found == [{"code": "label_missing_from_split", "label": label, "split": split}
                     for label, split in missing]


@pytest.mark.parametrize(("minimum", "splits", "rare"), [
    (1, counts(train=(80, {"rose": 1}), validation=(10, {"rose": 1}), test=(10, {"rose": 1})),
     []),  # 1: off
    (10, BALANCED, [("rose", "validation", 9), ("tulip", "validation", 8),
                    ("tulip", "test", 9)]),
    (10, counts(train=(80, {"rose": 10}), validation=(10, {"rose": 10}), test=(10, {"rose": 10})),
     []),  # exactly the minimum is enough
    # missing is label_missing_from_split, never also rare
    (10, counts(train=(80, {"rose": 80, "tulip": 3}), validation=(10, {"rose": 10}),
                test=(10, {"rose": 10})), [("tulip", "train", 3)]),
])
def test_label_rare_in_split(minimum, splits, rare):
    policy = SplitPolicy(min_items_per_label=minimum)
    found = [w for w in split_warnings(splits, policy) if w["code"] == "label_rare_in_split"]
    assert found == [{"code": "label_rare_in_split", "label": label, "split": split,
                      "count": count, "minimum": minimum} for label, split, count in rare]


# --------------------------------------------------------------------------- all together

def test_order_is_stable_empty_then_ratio_then_labels_split_by_split():
    splits = counts(train=(7000, {"tulip": 1, "rose": 6999}), validation=(3000, {"rose": 3000}),
                    test=(0, {}))
    assert [(w["code"], w.get("split"), w.get("label"))
            for w in split_warnings(splits, SplitPolicy(min_items_per_label=2))] == [
        ("split_empty", "test", None),
        ("split_off_ratio", "train", None),
        ("split_off_ratio", "validation", None),
        ("label_rare_in_split", "train", "tulip"),
        ("label_missing_from_split", "validation", "tulip"),
    ]


def test_a_balanced_split_has_no_warning():
    assert split_warnings(BALANCED, ASSIGN) == []


@pytest.mark.parametrize("warning", [
    {"code": "split_empty", "split": "test"},
    {"code": "split_off_ratio", "split": "train", "sharePercent": 70.0, "ratioPercent": 80,
     "tolerancePercent": 5.0},
    {"code": "label_missing_from_split", "label": "tulip", "split": "test"},
    {"code": "label_rare_in_split", "label": "tulip", "split": "test", "count": 3,
     "minimum": 10},
])
def test_every_code_reads_as_a_sentence_naming_its_split(warning):
    assert warning["code"] in CODES
    text = describe(warning)
    assert warning["split"] in text and text != warning["code"]
    assert warning.get("label", "") in text


# --------------------------------------------------------------------------- the setting

def _settings(**extra: str):
    return load_settings({"EXPORT_BUCKET": "e", "SPLIT_BUCKET": "s",
                          "RESULTS_TOPIC": "projects/p/topics/t", **extra})


def test_min_items_per_label_is_a_setting_off_by_default():
    assert _settings().policy.min_items_per_label == 1
    assert _settings(MIN_ITEMS_PER_LABEL="10").policy.min_items_per_label == 10


@pytest.mark.parametrize("value", ["0", "-3", "2.5", "ten"])
def test_min_items_per_label_refuses_what_is_not_a_count(value):
    with pytest.raises(ConfigError, match="min items per label"):
        _settings(MIN_ITEMS_PER_LABEL=value)


def test_a_format_without_validation_items_is_not_warned_for_its_validation_split(tmp_path):
    from labelexport.config import SplitPolicy as Policy
    from splitting import run_split

    segment = '[{"displayName": "jump", "startTime": "1s", "endTime": "2s"}]'
    lines = "".join(
        f'{{"videoGcsUri": "gs://b/v{k}.mp4", "timeSegmentAnnotations": {segment}, '
        f'"dataItemResourceLabels": {{"aiplatform.googleapis.com/ml_use": '
        f'"{"test" if k % 4 else "training"}"}}}}\n' for k in range(40))
    run = run_split(tmp_path / "video", lines, annotation_type="video_classification",
                    policy=Policy("keep"))
    assert run.manifest["splits"]["validation"]["items"] == 0
    assert run.manifest["warnings"] == []
    image = lines.replace("videoGcsUri", "imageGcsUri").replace(".mp4", ".jpg").replace(
        '"timeSegmentAnnotations": [{"displayName": "jump", "startTime": "1s", "endTime": "2s"}]',
        '"classificationAnnotation": {"displayName": "jump"}')
    run = run_split(tmp_path / "image", image,
                    annotation_type="image_classification_single_label", policy=Policy("keep"))
    assert {"code": "split_empty", "split": "validation"} in run.manifest["warnings"]
