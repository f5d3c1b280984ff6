"""The split policy rules, by example: which split a row goes to, how it is written, and the
manifest that counts it (docs/contracts.md, "The manifest")."""

from __future__ import annotations

import json

import pytest
from labelexport.assignment import HashAssigner
from labelexport.config import SplitPolicy
from labelexport.item_index import item_digest
from splitting import run_split

BB = "IMAGE_BOUNDING_BOX_ANNOTATION"
IC = "IMAGE_CLASSIFICATION_ANNOTATION"
BOX = "rose,0.1,0.1,,,0.3,0.3,,"
KEEP = SplitPolicy(unassigned="keep")
ASSIGN = SplitPolicy(unassigned="assign")
SPLITS = ("train", "validation", "test")


def _hash_split(uri: str, ratios=(80, 10, 10)) -> str:
    return SPLITS[HashAssigner(ratios).split_of(item_digest(uri))]


def _uri_in(split: str, ratios=(80, 10, 10), prefix="gs://b/h") -> str:
    """A URI the hash puts in `split`."""
    return next(u for u in (f"{prefix}{k}.png" for k in range(10_000))
                if _hash_split(u, ratios) == split)


def _csv(*rows: str, end: str = "\n") -> str:
    return "".join(row + end for row in rows)


def _all_rows(run) -> dict[str, list[str]]:
    return {name: run.rows(name) for name in run.manifest["splits"]}


# --------------------------------------------------------------------------- explicit ML use


@pytest.mark.parametrize(("spelling", "split"), [
    ("TRAIN", "train"), ("training", "train"), ("Training", "train"), ("tRaInInG", "train"),
    ("VALIDATION", "validation"), ("validate", "validation"), ("Validate", "validation"),
    ("TEST", "test"), ("testing", "test"), ("Testing", "test"), (" test ", "test"),
])
@pytest.mark.parametrize("policy", [ASSIGN, KEEP], ids=["assign", "keep"])
def test_explicit_ml_use_is_kept_byte_for_byte(tmp_path, spelling, split, policy):
    row = f"{spelling},gs://b/a.png,{BOX}"
    run = run_split(tmp_path, _csv(row), annotation_type=BB, policy=policy)
    assert run.rows(split) == [row]
    assert run.manifest["rows"] == {"read": 1, "written": 1, "rejected": 0}


def test_explicit_ml_use_is_kept_for_jsonl_and_copied_as_it_came(tmp_path):
    line = json.dumps({"name": "e1", "imagePayload": {"imageUri": "gs://b/a.png"},
                       "mlUse": "validate", "annotations": []})
    run_split(tmp_path, line + "\r\n", annotation_type=IC)
    assert (tmp_path / "validation.jsonl").read_bytes() == (line + "\r\n").encode()


# --------------------------------------------------------------------------- the item's split


def test_first_accepted_row_fixes_the_split_and_later_rows_follow(tmp_path):
    run = run_split(tmp_path, _csv(
        f"TEST,gs://b/a.png,{BOX}",
        f"UNASSIGNED,gs://b/a.png,{BOX}",
        f",gs://b/a.png,{BOX}",
        f"TRAIN,gs://b/other.png,{BOX}",
        f"unassigned,gs://b/a.png,{BOX}",  # after another item's row
    ), annotation_type=BB, policy=ASSIGN)
    assert run.rows("test") == [f"TEST,gs://b/a.png,{BOX}"] * 4
    assert run.rows("train") == [f"TRAIN,gs://b/other.png,{BOX}"]
    assert run.manifest["splits"]["test"]["items"] == 1


def test_a_rejected_first_row_does_not_fix_the_split(tmp_path):
    run = run_split(tmp_path, _csv(
        "TEST,gs://b/a.png,rose,0.5,0.1,,,0.3,0.3,,",  # inverted box: rejected
        f"TRAIN,gs://b/a.png,{BOX}",
        f"TEST,gs://b/a.png,{BOX}",
    ), annotation_type=BB)
    assert run.rows("train") == [f"TRAIN,gs://b/a.png,{BOX}"]
    assert [(r["line"], r["reason"]) for r in run.rejected()] == [
        (1, "inverted_box"), (3, "ml_use_conflict")]


def test_a_row_naming_another_split_is_an_ml_use_conflict(tmp_path):
    data = _csv(f"TRAIN,gs://b/a.png,{BOX}", f"TEST,gs://b/b.png,{BOX}",
                f"validation,gs://b/a.png,{BOX}", f"TRAIN,gs://b/b.png,{BOX}")
    run = run_split(tmp_path, data, annotation_type=BB)
    (first, second) = run.rejected()
    assert (first["line"], first["reason"], first["raw"]) == (
        3, "ml_use_conflict", f"validation,gs://b/a.png,{BOX}")
    assert "gs://b/a.png is in train by its first row; this row says validation" \
        in first["detail"]
    assert (second["line"], second["reason"]) == (4, "ml_use_conflict")
    assert run.manifest["rejected"]["reasons"] == {"ml_use_conflict": 2}
    assert run.manifest["rows"] == {"read": 4, "written": 2, "rejected": 2}


def test_an_unassigned_first_row_fixes_the_hash_split_for_later_explicit_rows(tmp_path):
    uri = _uri_in("validation")
    run = run_split(tmp_path, _csv(f",{uri},{BOX}", f"TRAIN,{uri},{BOX}",
                                   f"VALIDATION,{uri},{BOX}"), annotation_type=BB)
    assert run.rows("validation") == [f"VALIDATION,{uri},{BOX}"] * 2
    assert run.reasons() == ["ml_use_conflict"]


def test_jsonl_examples_follow_their_first_row_and_conflict(tmp_path):
    def line(use):
        return json.dumps({"name": "e1", "imagePayload": {"imageUri": "gs://b/a.png"},
                           "dataItemResourceLabels": {"aiplatform.googleapis.com/ml_use": use},
                           "annotations": []})
    run = run_split(tmp_path, "\n".join([line("test"), line(""), line("training")]) + "\n",
                    annotation_type=IC)
    assert run.rows("test") == [line("test"), line("")]  # copied as they came: not rewritten
    assert [(r["line"], r["reason"]) for r in run.rejected()] == [(3, "ml_use_conflict")]


# --------------------------------------------------------------------------- assign vs keep


def test_assign_places_unassigned_items_by_their_hash_and_rewrites_the_field(tmp_path):
    uris = {split: _uri_in(split) for split in SPLITS}
    rows = [f"UNASSIGNED,{uris['train']},{BOX}", f",{uris['validation']},{BOX}",
            f"unassigned,{uris['test']},{BOX}"]
    run = run_split(tmp_path, _csv(*rows), annotation_type=BB, policy=ASSIGN)
    assert run.rows("train") == [f"TRAIN,{uris['train']},{BOX}"]
    assert run.rows("validation") == [f"VALIDATION,{uris['validation']},{BOX}"]
    assert run.rows("test") == [f"TEST,{uris['test']},{BOX}"]
    assert not (tmp_path / "unassigned.csv").exists()
    assert set(run.manifest["splits"]) == set(SPLITS)


def test_assign_honours_the_ratios(tmp_path):
    uri = _uri_in("test", ratios=(80, 10, 10))
    assert _hash_split(uri, (0, 0, 100)) == "test"
    moved = next(u for u in (f"gs://b/r{k}.png" for k in range(1000))
                 if _hash_split(u, (80, 10, 10)) == "test")
    run = run_split(tmp_path, _csv(f",{moved},{BOX}"), annotation_type=BB,
                    policy=SplitPolicy("assign", (100, 0, 0)))
    assert run.rows("train") == [f"TRAIN,{moved},{BOX}"]
    assert run.manifest["policy"]["ratios"] == [100, 0, 0]


def test_keep_writes_unassigned_rows_as_they_came(tmp_path):
    rows = [f"UNASSIGNED,gs://b/a.png,{BOX}", f",gs://b/b.png,{BOX}", f"gs://b/c.png,{BOX}",
            f"TRAIN,gs://b/d.png,{BOX}"]
    run = run_split(tmp_path, _csv(*rows), annotation_type=BB, policy=KEEP)
    assert run.rows("unassigned") == rows[:3]
    assert run.rows("train") == rows[3:]
    assert run.manifest["splits"]["unassigned"] | {"uri": ""} == {
        "uri": "", "rows": 3, "items": 3, "labels": {"rose": 3},
        "bytes": len(_csv(*rows[:3]).encode())}
    assert run.manifest["policy"]["unassigned"] == "keep"


def test_keep_an_item_first_seen_unassigned_stays_unassigned(tmp_path):
    run = run_split(tmp_path, _csv(f",gs://b/a.png,{BOX}", f"TRAIN,gs://b/a.png,{BOX}"),
                    annotation_type=BB, policy=KEEP)
    assert run.rows("unassigned") == [f",gs://b/a.png,{BOX}"]
    assert run.reasons() == ["ml_use_conflict"]


def test_keep_an_unassigned_row_following_its_item_says_the_items_split(tmp_path):
    run = run_split(tmp_path, _csv(f"TEST,gs://b/a.png,{BOX}", f",gs://b/a.png,{BOX}"),
                    annotation_type=BB, policy=KEEP)
    assert run.rows("test") == [f"TEST,gs://b/a.png,{BOX}"] * 2
    assert run.rows("unassigned") == []


# --------------------------------------------------------------------------- the rewrite


@pytest.mark.parametrize(("row", "written"), [
    ('"",gs://b/a.png,rose', "{S},gs://b/a.png,rose"),
    ('"UNASSIGNED",gs://b/a.png,rose', "{S},gs://b/a.png,rose"),
    ('"unassigned",gs://b/a.png,"rose, red",tulip', '{S},gs://b/a.png,"rose, red",tulip'),
    ('" ",gs://b/a.png,rose', "{S},gs://b/a.png,rose"),
    (',gs://b/a.png,"a ""quoted"" label"', '{S},gs://b/a.png,"a ""quoted"" label"'),
    ("gs://b/a.png,rose", "{S},gs://b/a.png,rose"),  # no ML-use column: one is prepended
    ('"gs://b/a.png",rose', '{S},"gs://b/a.png",rose'),
    ("gs://b/a.png", "{S},gs://b/a.png"),  # a negative example without the ML-use column
    (" Unassigned ,gs://b/a.png,rose", "{S},gs://b/a.png,rose"),
])
def test_only_the_ml_use_field_of_an_assigned_row_is_rewritten(tmp_path, row, written):
    split = _hash_split("gs://b/a.png")
    run = run_split(tmp_path, row + "\n", annotation_type=IC)
    assert run.rows(split) == [written.replace("{S}", split.upper())]
    assert run.manifest["rows"] == {"read": 1, "written": 1, "rejected": 0}


def test_rewritten_row_keeps_its_crlf(tmp_path):
    split = _hash_split("gs://b/a.png")
    run_split(tmp_path, f",gs://b/a.png,{BOX}\r\n", annotation_type=BB)
    assert (tmp_path / f"{split}.csv").read_bytes() == \
        f"{split.upper()},gs://b/a.png,{BOX}\r\n".encode()


def test_no_ml_use_column_rows_are_split_and_inferred(tmp_path):
    split = _hash_split("gs://b/a.png")
    run = run_split(tmp_path, _csv(f"gs://b/a.png,{BOX}", f"gs://b/a.png,{BOX}"))
    assert run.manifest["source"]["annotationType"] == BB
    assert run.rows(split) == [f"{split.upper()},gs://b/a.png,{BOX}"] * 2


# --------------------------------------------------------------------------- bytes kept


def test_crlf_line_ends_are_kept_in_the_output(tmp_path):
    data = f"TRAIN,gs://b/a.png,{BOX}\r\nTEST,gs://b/b.png,{BOX}\r\nTRAIN,gs://b/c.png,{BOX}\n"
    run_split(tmp_path, data, annotation_type=BB)
    assert (tmp_path / "train.csv").read_bytes() == \
        f"TRAIN,gs://b/a.png,{BOX}\r\nTRAIN,gs://b/c.png,{BOX}\n".encode()
    assert (tmp_path / "test.csv").read_bytes() == f"TEST,gs://b/b.png,{BOX}\r\n".encode()


def test_a_utf8_bom_is_dropped(tmp_path):
    data = "\ufeff" + _csv(f"TRAIN,gs://b/a.png,{BOX}", f"TRAIN,gs://b/b.png,{BOX}")
    run = run_split(tmp_path, data.encode("utf-8"))
    assert (tmp_path / "train.csv").read_bytes() == \
        _csv(f"TRAIN,gs://b/a.png,{BOX}", f"TRAIN,gs://b/b.png,{BOX}").encode()
    assert run.manifest["source"]["annotationType"] == BB


def test_a_jsonl_bom_is_dropped(tmp_path):
    line = json.dumps({"name": "e1", "imagePayload": {"imageUri": "gs://b/a.png"},
                       "mlUse": "TRAIN", "annotations": []})
    run = run_split(tmp_path, ("\ufeff" + line + "\n").encode(), annotation_type=IC)
    assert run.manifest["source"]["format"] == "jsonl"
    assert (tmp_path / "train.jsonl").read_bytes() == (line + "\n").encode()


def test_a_quoted_field_never_spans_lines_so_a_stray_quote_costs_one_row(tmp_path):
    # Export rows never hold a line end; an unbalanced quote is that line's error alone.
    data = _csv("TRAIN,gs://b/a.png,tulip", 'TRAIN,gs://b/b.png,"x', 'y"',
                "TEST,gs://b/c.png,z", 'TRAIN,gs://b/d.png,"rose, red"')
    run = run_split(tmp_path, data, annotation_type=IC)
    assert [(r["line"], r["reason"], r["raw"]) for r in run.rejected()] == [
        (2, "unterminated_quote", 'TRAIN,gs://b/b.png,"x'),
        (3, "unterminated_quote", 'y"')]
    assert run.rows("test") == ["TEST,gs://b/c.png,z"]
    assert run.manifest["splits"]["train"]["labels"] == {"rose, red": 1, "tulip": 1}


def test_accepted_value_forms(tmp_path):
    rows = ["VALIDATION,gs://b/b.png,rose,.1,.2,,,.7,1,,",  # .7
            "TEST,gs://b/neg.png,,,,,,,,,",  # negative examples
            "TEST,gs://b/neg2.png",
            'TRAIN,gs://b/q.png,"rose, red",0.1,0.1,,,0.3,0.3,,']  # quoted comma
    run = run_split(tmp_path, _csv(*rows), annotation_type=BB)
    assert run.manifest["rows"] == {"read": 4, "written": 4, "rejected": 0}
    assert run.manifest["splits"]["train"]["labels"] == {"rose, red": 1}
    assert run.manifest["splits"]["test"] | {"uri": ""} == {
        "uri": "", "rows": 2, "items": 2, "labels": {}, "bytes": len(_csv(*rows[1:3]).encode())}


# --------------------------------------------------------------------------- status


def _rows_with_rejects(good: int, bad: int) -> str:
    return _csv(*[f"TRAIN,gs://b/{k}.png,{BOX}" for k in range(good)],
                *[f"HOLDOUT,gs://b/x{k}.png,{BOX}" for k in range(bad)])


@pytest.mark.parametrize(("good", "bad", "fraction", "status"), [
    (99, 1, 0.01, "ok"),  # exactly at the threshold
    (98, 2, 0.01, "rejected"),
    (100, 0, 0.0, "ok"),
    (99, 1, 0.0, "rejected"),
    (3, 1, 0.25, "ok"),
    (2, 1, 0.25, "rejected"),
    (0, 3, 1.0, "ok"),
])
def test_status_around_the_reject_threshold(tmp_path, good, bad, fraction, status):
    run = run_split(tmp_path, _rows_with_rejects(good, bad), annotation_type=BB,
                    policy=SplitPolicy(max_reject_fraction=fraction))
    assert run.manifest["status"] == status
    assert run.manifest["rows"] == {"read": good + bad, "written": good, "rejected": bad}


# --------------------------------------------------------------------------- manifest


def test_manifest_shape_and_counts(tmp_path):
    data = _csv(f"TRAIN,gs://b/a.png,{BOX}", "TRAIN,gs://b/a.png,tulip,0.2,0.2,,,0.4,0.4,,",
                f"TRAIN,gs://b/b.png,{BOX}", "VALIDATION,gs://b/c.png,,,,,,,,,",
                f"TEST,gs://b/d.png,{BOX}", f"HOLDOUT,gs://b/e.png,{BOX}",
                "TEST,gs://b/f.png,rose,0.5,0.1,,,0.3,0.3,,", f"TEST,gs://b/a.png,{BOX}")
    run = run_split(tmp_path, data, annotation_type=BB,
                    policy=SplitPolicy("assign", (70, 20, 10), 0.5))
    manifest = run.manifest
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    size = {name: (tmp_path / name).stat().st_size
            for name in ("train.csv", "validation.csv", "test.csv", "rejected.jsonl")}
    assert manifest == {
        "status": "ok",
        "source": {"uri": "test://export", "generation": None, "time": None, "format": "csv",
                   "annotationType": BB, "annotationTypeSource": "option"},
        "rows": {"read": 8, "written": 5, "rejected": 3},
        "splits": {
            "train": {"uri": str(tmp_path / "train.csv"), "rows": 3, "items": 2,
                      "labels": {"rose": 2, "tulip": 1}, "bytes": size["train.csv"]},
            "validation": {"uri": str(tmp_path / "validation.csv"), "rows": 1, "items": 1,
                           "labels": {}, "bytes": size["validation.csv"]},
            "test": {"uri": str(tmp_path / "test.csv"), "rows": 1, "items": 1,
                     "labels": {"rose": 1}, "bytes": size["test.csv"]},
        },
        "rejected": {"uri": str(tmp_path / "rejected.jsonl"), "rows": 3,
                     "reasons": {"inverted_box": 1, "ml_use_conflict": 1,
                                 "unknown_ml_use": 1},
                     "first": run.rejected(), "bytes": size["rejected.jsonl"]},
        "warnings": [
            {"code": "label_missing_from_split", "label": "rose", "split": "validation"},
            {"code": "label_missing_from_split", "label": "tulip", "split": "validation"},
            {"code": "label_missing_from_split", "label": "tulip", "split": "test"},
        ],
        "report": {"uri": str(tmp_path / "report.html")},
        "policy": {"unassigned": "assign", "ratios": [70, 20, 10], "maxRejectFraction": 0.5,
                   "minItemsPerLabel": 1},
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "manifest.json", "rejected.jsonl", "report.html", "test.csv", "train.csv",
        "validation.csv"]
    assert [json.loads(line)["line"] for line in run.text("rejected.jsonl").splitlines()] == \
        [6, 7, 8]
    assert all(set(r) == {"line", "reason", "detail", "raw"} and r["detail"]
               for r in run.rejected())


def test_annotation_type_source_given_vs_inferred(tmp_path):
    data = _csv(f"TRAIN,gs://b/a.png,{BOX}")
    given = run_split(tmp_path / "given", data, annotation_type=BB)
    inferred = run_split(tmp_path / "inferred", data)
    assert given.manifest["source"]["annotationTypeSource"] == "option"
    assert inferred.manifest["source"]["annotationTypeSource"] == "inferred"
    assert inferred.manifest["source"]["annotationType"] == BB
    # a two-point row is a polyline when the caller says so: not second-guessed
    line = run_split(tmp_path / "line", data, annotation_type="IMAGE_POLYLINE_ANNOTATION")
    assert line.manifest["source"]["annotationType"] == "IMAGE_POLYLINE_ANNOTATION"
    assert line.manifest["rows"]["written"] == 1
