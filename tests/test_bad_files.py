"""Bad files give a clear error or clear rejects, never a crash: through the core and through
the command in a subprocess, with the peak memory of a run over one very long line measured."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from labelexport.config import SplitPolicy
from labelexport.errors import SourceError
from labelexport.rejects import REASONS
from splitting import run_split

LABELEXPORT = str(Path(sys.executable).with_name("labelexport"))
BB = "IMAGE_BOUNDING_BOX_ANNOTATION"
IC = "IMAGE_CLASSIFICATION_ANNOTATION"
GOOD = "TRAIN,gs://b/a.png,rose,0.1,0.1,,,0.3,0.3,,"
GOOD_JSON = json.dumps({"name": "e1", "imagePayload": {"imageUri": "gs://b/a.png"},
                        "mlUse": "TRAIN", "annotations": [{"annotationValue": {
                            "imageClassificationAnnotation": {
                                "annotationSpec": {"displayName": "tulip"}}}}]})

# Spawns the command from a small interpreter and reports its peak RSS (KiB) and exit status:
# a child spawned straight from pytest would start its ru_maxrss at pytest's own peak.
_LAUNCHER = (
    "import os, sys\n"
    "pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "print(usage.ru_maxrss, os.waitstatus_to_exitcode(status), file=sys.stderr)\n"
)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([LABELEXPORT, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def peak_rss_mib(*args: str) -> tuple[float, int]:
    done = subprocess.run([sys.executable, "-I", "-S", "-c", _LAUNCHER, LABELEXPORT, *args],
                          capture_output=True, text=True, timeout=120, check=True)
    kib, code = done.stderr.splitlines()[-1].split()
    return int(kib) / 1024, int(code)


def assert_one_line_error(done: subprocess.CompletedProcess, *words: str) -> None:
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("labelexport: error: ")
    for word in words:
        assert word in line


def rejects_of(run) -> list[dict]:
    """rejected.jsonl split on LF only: raw may hold U+2028, U+0085 and the like."""
    return [json.loads(line) for line in run.text("rejected.jsonl").split("\n")[:-1]]


def assert_clear_rejects(run) -> None:
    rows = run.manifest["rows"]
    assert rows["read"] == rows["written"] + rows["rejected"]
    assert len(rejects_of(run)) == rows["rejected"]
    for rejected in rejects_of(run):
        assert rejected["reason"] in REASONS and rejected["detail"] and rejected["line"] >= 1


# --------------------------------------------------------------------------- empty


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf"], ids=["empty", "bom-only"])
def test_empty_file_is_a_source_error(tmp_path, data):
    with pytest.raises(SourceError, match="is empty"):
        run_split(tmp_path / "out", data, annotation_type=BB)
    assert not (tmp_path / "out").exists()
    source = tmp_path / "export.csv"
    source.write_bytes(data)
    for command in ("split", "validate"):
        assert_one_line_error(cli(command, str(source)), "is empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]


# --------------------------------------------------------------------------- binary garbage


GARBAGE = random.Random(1).randbytes(300_000)


def test_binary_garbage_without_a_type_is_a_source_error(tmp_path):
    source = tmp_path / "export.csv"
    source.write_bytes(GARBAGE)
    assert_one_line_error(cli("split", str(source)), "cannot infer the annotation type")
    assert not (tmp_path / "export").exists()


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_binary_garbage_with_a_type_gives_a_clear_error_or_clear_rejects(tmp_path, fmt, seed):
    garbage = random.Random(seed).randbytes(200_000)
    try:
        run = run_split(tmp_path / "core", garbage, annotation_type=IC, fmt=fmt)
    except SourceError as exc:  # e.g. its first decodable line looks like the other format
        expected_code, manifest = 2, None
        assert "looks like" in str(exc)
    else:
        assert_clear_rejects(run)
        assert run.manifest["status"] == "rejected"
        assert "invalid_utf8" in run.manifest["rejected"]["reasons"]
        expected_code, manifest = 1, run.manifest
    source = tmp_path / f"export.{fmt}"
    source.write_bytes(garbage)
    done = cli("split", str(source), "--type", IC, "--format", fmt, "--json")
    if manifest is None:
        assert_one_line_error(done, "looks like")
    else:
        assert done.returncode == expected_code and "Traceback" not in done.stderr, done.stderr
        assert json.loads(done.stdout)["rows"] == manifest["rows"]


# --------------------------------------------------------------------------- invalid UTF-8


@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_invalid_utf8_lines_are_rejected_and_the_good_ones_kept(tmp_path, end):
    bad1, bad2 = b"TRAIN,gs://b/\xff.png,rose", b"TEST,gs://b/c.png,\xc3("
    data = end.join(["TRAIN,gs://b/a.png,rose", bad1.decode("latin-1"), "TEST,gs://b/b.png,x",
                     bad2.decode("latin-1"), "TRAIN,gs://b/d.png,y"]).encode("latin-1") + b"\n"
    data = data.replace("TRAIN,gs://b/ÿ".encode("latin-1"), b"TRAIN,gs://b/\xff")
    data = data.replace("\xc3(".encode("latin-1"), b"\xc3(")
    run = run_split(tmp_path, data, annotation_type=IC)
    assert [(r["line"], r["reason"]) for r in run.rejected()] == [
        (2, "invalid_utf8"), (4, "invalid_utf8")]
    assert run.rejected()[0]["detail"].startswith("line 2 is not valid UTF-8")
    assert run.rejected()[0]["raw"].startswith("TRAIN,gs://b/\\xff.png,rose")
    assert (tmp_path / "train.csv").read_bytes() == \
        f"TRAIN,gs://b/a.png,rose{end}TRAIN,gs://b/d.png,y\n".encode()
    assert run.manifest["rows"] == {"read": 5, "written": 3, "rejected": 2}


def test_invalid_utf8_reject_raw_drops_the_cr_like_other_rejects(tmp_path):
    run = run_split(tmp_path, b"TRAIN,gs://b/\xff.png,rose\r\nHOLDOUT,gs://b/a.png,x\r\n",
                    annotation_type=IC)
    assert [r["raw"] for r in run.rejected()] == ["TRAIN,gs://b/\\xff.png,rose",
                                                 "HOLDOUT,gs://b/a.png,x"]


# --------------------------------------------------------------------------- wrong format


def test_jsonl_fed_as_csv_and_csv_fed_as_jsonl_are_source_errors(tmp_path):
    jsonl, csv = tmp_path / "a.jsonl", tmp_path / "a.csv"
    jsonl.write_text(GOOD_JSON + "\n")
    csv.write_text(GOOD + "\n")
    assert_one_line_error(cli("split", str(jsonl), "--format", "csv"),
                          "looks like JSONL, not CSV")
    assert_one_line_error(cli("validate", str(csv), "--format", "jsonl"),
                          "looks like CSV, not JSONL")
    assert_one_line_error(cli("split", str(csv), "--type", "IMAGE_SEGMENTATION_ANNOTATION"),
                          "JSONL only")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.jsonl"]


def test_jsonl_lines_inside_a_csv_are_rejected_rows(tmp_path):
    run = run_split(tmp_path, f"{GOOD}\n{GOOD_JSON}\n", annotation_type=BB)
    assert run.reasons() == ["unknown_ml_use"]
    assert_clear_rejects(run)


def test_csv_lines_inside_a_jsonl_are_rejected_rows(tmp_path):
    run = run_split(tmp_path, f"{GOOD_JSON}\n{GOOD}\n", annotation_type=IC)
    assert run.reasons() == ["invalid_json"]
    assert run.manifest["rows"] == {"read": 2, "written": 1, "rejected": 1}


# --------------------------------------------------------------------------- odd rows


def test_an_unassigned_first_row_without_a_uri_is_rejected(tmp_path):
    for policy in (SplitPolicy("assign"), SplitPolicy("keep")):
        run = run_split(tmp_path / policy.unassigned, f",,rose,0.1,0.1,,,0.3,0.3,,\n{GOOD}\n",
                        annotation_type=BB, policy=policy)
        assert run.reasons() == ["missing_uri"]
        assert run.manifest["rows"] == {"read": 2, "written": 1, "rejected": 1}


def test_blank_lines_are_skipped_whatever_their_length(tmp_path):
    run = run_split(tmp_path, f"{GOOD}\n \n  \n\t\t\r\n\n", annotation_type=BB)
    assert run.manifest["rows"] == {"read": 1, "written": 1, "rejected": 0}


def test_a_negative_bounding_box_row_with_too_many_columns_is_a_field_count(tmp_path):
    run = run_split(tmp_path, "TRAIN,gs://b/a.png" + "," * 20 + "\n", annotation_type=BB)
    assert run.reasons() == ["field_count"]


def test_a_long_quoted_field_is_not_called_an_unterminated_quote(tmp_path):
    run = run_split(tmp_path, f'TRAIN,gs://b/a.png,"{"a" * 200_000}"\n', annotation_type=IC)
    assert "unterminated_quote" not in run.reasons()


def test_a_stray_quote_does_not_make_the_run_quadratic(tmp_path):
    rows = "".join(f"TRAIN,gs://b/{k}.png,rose\n" for k in range(12_000))
    start = time.perf_counter()
    run_split(tmp_path, 'TRAIN,gs://b/a.png,"rose\n' + rows, annotation_type=IC)
    assert time.perf_counter() - start < 0.5


def test_deeply_nested_json_is_an_invalid_json_reject(tmp_path):
    run = run_split(tmp_path, f"{GOOD_JSON}\n" + "[" * 100_000 + "\n", annotation_type=IC,
                    fmt="jsonl")
    assert run.reasons() == ["invalid_json"]


def test_deeply_nested_json_through_the_cli(tmp_path):
    source = tmp_path / "export.jsonl"
    source.write_text(f"{GOOD_JSON}\n" + "[" * 100_000 + "\n")
    done = cli("split", str(source), "--type", IC)
    assert "Traceback" not in done.stderr
    assert done.returncode in (1, 2)


# --------------------------------------------------------------------------- one long line


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_50_mb_line_is_rejected_with_flat_memory(tmp_path, fmt):
    source = tmp_path / f"export.{fmt}"
    first, last = (GOOD, GOOD.replace("TRAIN", "TEST").replace("a.png", "c.png")) \
        if fmt == "csv" else (GOOD_JSON, GOOD_JSON.replace('"e1"', '"e3"'))
    with open(source, "wb") as out:
        out.write(first.encode() + b"\n")
        out.write(b"TRAIN,gs://b/big.png," if fmt == "csv" else b'{"name": "big", "x": "')
        chunk = b"x" * (1 << 20)
        for _ in range(50):
            out.write(chunk)
        out.write(b"\n" + last.encode() + b"\n")
    kind = BB if fmt == "csv" else IC
    peak, code = peak_rss_mib("split", str(source), "--type", kind,
                              "--out", str(tmp_path / "out"))
    print(f"\npeak RSS splitting a 50 MB {fmt} line: {peak:.0f} MiB")
    assert code == 1  # 1 of 3 rows rejected: over the 1% threshold
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["rows"] == {"read": 3, "written": 2, "rejected": 1}
    assert manifest["rejected"]["reasons"] in ({"line_too_long": 1}, {"field_count": 1})
    (rejected,) = [json.loads(x) for x in (tmp_path / "out" / "rejected.jsonl").open()]
    assert rejected["line"] == 2 and len(rejected["raw"]) <= 4096
    assert peak < 200, f"peak RSS {peak:.0f} MiB for one 50 MB line"


def test_a_long_line_of_empty_columns_keeps_memory_flat(tmp_path):
    source = tmp_path / "export.csv"
    source.write_bytes(GOOD.encode() + b"\nTRAIN,gs://b/big.png" + b"," * (10 << 20) + b"\n")
    peak, code = peak_rss_mib("validate", str(source), "--type", BB)
    print(f"\npeak RSS validating a 10 MB line of commas: {peak:.0f} MiB")
    assert peak < 150


def test_a_file_of_undecodable_lines_keeps_memory_flat(tmp_path):
    source = tmp_path / "export.csv"
    with open(source, "wb") as out:
        for _ in range(40):
            out.write((b"\xff" * 99 + b"\n") * 10_486)
    peak, code = peak_rss_mib("validate", str(source), "--type", BB)
    print(f"\npeak RSS validating 40 MB of undecodable lines: {peak:.0f} MiB")
    assert code == 1
    assert peak < 150


def test_launcher_measures_a_small_run(tmp_path):
    source = tmp_path / "export.csv"
    source.write_text(GOOD + "\n")
    peak, code = peak_rss_mib("validate", str(source))
    assert code == 0 and 5 < peak < 100
    assert os.path.exists(LABELEXPORT)


# --------------------------------------------------------------------------- Vertex AI lines

VERTEX_BOX = ('{"imageGcsUri": "gs://b/a.jpg", "boundingBoxAnnotations": [{"displayName": "car", '
              '"xMin": 0.1, "xMax": 0.5, "yMin": 0.1, "yMax": 0.5}]}')


@pytest.mark.parametrize("seed", [4, 5])
def test_binary_garbage_as_vertex_jsonl_gives_a_clear_error_or_clear_rejects(tmp_path, seed):
    garbage = random.Random(seed).randbytes(200_000)
    source = tmp_path / "export.jsonl"
    source.write_bytes(VERTEX_BOX.encode() + b"\n" + garbage)
    done = cli("split", str(source), "--type", "image_bounding_box", "--json")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    manifest = json.loads(done.stdout)
    assert manifest["status"] == "rejected" and manifest["splits"]
    assert manifest["rows"]["written"] == 1
    assert set(manifest["rejected"]["reasons"]) <= {"invalid_utf8", "invalid_json"}


def test_a_50_mb_vertex_line_is_rejected_with_flat_memory(tmp_path):
    source = tmp_path / "export.jsonl"
    with open(source, "wb") as out:
        out.write(VERTEX_BOX.encode() + b"\n")
        out.write(b'{"textContent": "')
        for _ in range(50):
            out.write(b"x" * (1 << 20))
        out.write(b'"}\n' + VERTEX_BOX.replace("a.jpg", "c.jpg").encode() + b"\n")
    peak, code = peak_rss_mib("split", str(source), "--type", "image_bounding_box",
                              "--out", str(tmp_path / "out"))
    assert code == 1
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["rows"] == {"read": 3, "written": 2, "rejected": 1}
    assert manifest["rejected"]["reasons"] == {"line_too_long": 1}
    assert peak < 200, f"peak RSS {peak:.0f} MiB for one 50 MB line"
