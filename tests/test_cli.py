"""The `labelexport` command (README "The command line"): exit codes, one-line errors, where it
writes, --json, the rejected rows and warnings it prints, and progress on a terminal only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devstack import vertex_samples

LABELEXPORT = str(Path(sys.executable).with_name("labelexport"))
BOX = "rose,0.1,0.1,,,0.3,0.3,,"
GOOD = f"TRAIN,gs://b/a.png,{BOX}\nTEST,gs://b/b.png,{BOX}\n,gs://b/c.png,{BOX}\n"
FILES = ["manifest.json", "rejected.jsonl", "report.html", "test.csv", "train.csv",
         "validation.csv"]


def cli(*args: str, cwd: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([LABELEXPORT, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60, **kwargs)


@pytest.fixture
def export(tmp_path) -> Path:
    source = tmp_path / "data" / "export.csv"
    source.parent.mkdir()
    source.write_text(GOOD)
    return source


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_split_writes_beside_the_source_by_default_and_exits_0(export):
    done = cli("split", str(export))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert sorted(p.name for p in (export.parent / "export").iterdir()) == FILES
    assert "status: ok" in done.stdout and "rows: 3 read, 3 written, 0 rejected" in done.stdout
    manifest = json.loads((export.parent / "export" / "manifest.json").read_text())
    assert manifest["splits"]["train"]["uri"] == str(export.parent / "export" / "train.csv")


def test_default_destination_of_a_relative_source_without_extension(tmp_path):
    (tmp_path / "export").write_text(GOOD)
    done = cli("split", "export", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "export.split").iterdir()) == FILES


def test_default_destination_of_a_dot_named_source_is_a_folder_of_its_own(tmp_path):
    (tmp_path / ".csv").write_text(GOOD)
    done = cli("split", str(tmp_path / ".csv"))
    assert done.returncode == 0
    assert not (tmp_path / "manifest.json").exists()


def test_split_out_and_json(export, tmp_path):
    done = cli("split", str(export), "--out", str(tmp_path / "o"), "--json")
    assert done.returncode == 0
    manifest = json.loads(done.stdout)
    assert manifest == json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["rows"] == {"read": 3, "written": 3, "rejected": 0}
    assert not (export.parent / "export").exists()


def test_validate_writes_nothing_and_prints_the_same_counts(export, tmp_path):
    before = _tree(tmp_path)
    done = cli("validate", str(export), "--json")
    assert done.returncode == 0, done.stderr
    assert _tree(tmp_path) == before
    validated = json.loads(done.stdout)
    split = json.loads(cli("split", str(export), "--json").stdout)
    assert validated["status"] == split["status"] and validated["rows"] == split["rows"]
    def counted(part: dict) -> dict:  # validate writes no file: no URI, no size
        return {k: v for k, v in part.items() if k not in ("uri", "bytes")}

    for key in ("source", "rejected"):
        assert counted(validated[key]) == counted(split[key])
    assert {n: counted(s) for n, s in validated["splits"].items()} == \
        {n: counted(s) for n, s in split["splits"].items()}
    assert validated["warnings"] == split["warnings"]
    summary = cli("validate", str(export))
    assert "rows: 3 read, 3 written, 0 rejected" in summary.stdout
    assert "->" not in summary.stdout  # no file named: none written


def test_rejected_status_exits_1_and_the_threshold_is_an_option(export, tmp_path):
    export.write_text(GOOD + f"HOLDOUT,gs://b/x.png,{BOX}\n")
    done = cli("split", str(export), "--out", str(tmp_path / "a"))
    assert done.returncode == 1
    assert "status: rejected" in done.stdout and "unknown_ml_use 1" in done.stdout
    done = cli("split", str(export), "--out", str(tmp_path / "b"), "--max-reject-fraction", "0.25")
    assert done.returncode == 0
    assert cli("validate", str(export)).returncode == 1


def test_unassigned_keep(export, tmp_path):
    done = cli("split", str(export), "--unassigned", "keep", "--out", str(tmp_path / "o"),
               "--json")
    assert done.returncode == 0
    assert (tmp_path / "o" / "unassigned.csv").read_text() == f",gs://b/c.png,{BOX}\n"
    assert json.loads(done.stdout)["policy"]["unassigned"] == "keep"


def test_ratios_option(export, tmp_path):
    done = cli("split", str(export), "--ratios", "0, 0, 100", "--out", str(tmp_path / "o"))
    assert done.returncode == 0
    assert (tmp_path / "o" / "test.csv").read_text().endswith(f"TEST,gs://b/c.png,{BOX}\n")


@pytest.mark.parametrize("args", [
    ["split", "{src}", "--ratios", "80,10"],
    ["split", "{src}", "--ratios", "80,10,20"],
    ["split", "{src}", "--ratios", "a,b,c"],
    ["split", "{src}", "--ratios", "110,-5,-5"],
    ["split", "{src}", "--unassigned", "drop"],
    ["split", "{src}", "--max-reject-fraction", "2"],
    ["split", "{src}", "--format", "xml"],
    ["validate", "{src}", "--type", "IMAGE_BOXES"],
    ["split"],
    ["frobnicate", "{src}"],
    [],
])
def test_bad_usage_exits_2_with_usage_and_writes_nothing(export, args):
    done = cli(*[a.replace("{src}", str(export)) for a in args])
    assert done.returncode == 2
    assert done.stdout == ""
    assert "usage: labelexport" in done.stderr and "Traceback" not in done.stderr
    assert "error:" in done.stderr.splitlines()[-1]
    assert sorted(p.name for p in export.parent.iterdir()) == ["export.csv"]


@pytest.mark.parametrize(("command", "source", "message"), [
    ("split", "missing.csv", "cannot read missing.csv: No such file or directory"),
    ("validate", "missing.csv", "cannot read missing.csv: No such file or directory"),
    ("split", ".", ". is a folder, not an export file"),
])
def test_unreadable_source_exits_2_with_one_line(export, command, source, message):
    done = cli(command, source, cwd=export.parent)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"labelexport: error: {message}\n"


def test_unwritable_destination_exits_2_with_one_line(export):
    done = cli("split", str(export), "--out", str(export))  # a file, not a folder
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("labelexport: error: ") and "Traceback" not in done.stderr


def test_type_and_format_options_are_recorded(export):
    done = cli("validate", str(export), "--type", "image_bounding_box_annotation",
               "--format", "CSV", "--json")
    assert done.returncode == 0, done.stderr
    source = json.loads(done.stdout)["source"]
    assert source["annotationType"] == "IMAGE_BOUNDING_BOX_ANNOTATION"
    assert source["annotationTypeSource"] == "option"


# --------------------------------------------------------------------------- rejects, warnings

BAD_ROWS = [  # (line, reason) of each bad row of BAD, in order
    (2, "unknown_ml_use"), (4, "coordinate_out_of_range"), (5, "inverted_box"),
    (6, "field_count"), (7, "bad_number")]
BAD = "".join([
    f"TRAIN,gs://b/a.png,{BOX}\n",
    f"HOLDOUT,gs://b/b.png,{BOX}\n",
    f"TEST,gs://b/c.png,{BOX}\n",
    "TRAIN,gs://b/d.png,rose,0.1,0.1,,,1.5,0.3,,\n",
    "TRAIN,gs://b/e.png,rose,0.5,0.5,,,0.3,0.3,,\n",
    "TRAIN,gs://b/f.png,rose,0.1\n",
    "TRAIN,gs://b/g.png,rose,x,0.1,,,0.3,0.3,,\n",
])
LINT = re.compile(r"^(?P<source>.+):(?P<line>\d+): (?P<reason>[a-z_]+): (?P<detail>\S.*)$")


def _lint_lines(stdout: str) -> list[tuple[str, int, str]]:
    return [(m["source"], int(m["line"]), m["reason"])
            for m in map(LINT.match, stdout.splitlines()) if m and m["reason"] != "warning"]


@pytest.fixture
def bad_export(tmp_path) -> Path:
    source = tmp_path / "bad.csv"
    source.write_text(BAD)
    return source


def test_validate_prints_each_bad_row_like_a_linter(bad_export):
    done = cli("validate", str(bad_export))
    assert done.returncode == 1  # 5 of 7 rows rejected
    assert _lint_lines(done.stdout) == [(str(bad_export), line, reason)
                                        for line, reason in BAD_ROWS]
    counts_end = done.stdout.index("rejected")  # the rows come after the counts
    assert done.stdout.index(f"{bad_export}:2:") > counts_end
    assert "more" not in done.stdout
    assert f"{bad_export}:2: unknown_ml_use: column 1 (ML use) is 'HOLDOUT'" in done.stdout


def test_max_errors_limits_the_rows_and_says_how_many_more(bad_export, tmp_path):
    done = cli("validate", str(bad_export), "--max-errors", "2")
    assert _lint_lines(done.stdout) == [(str(bad_export), line, reason)
                                        for line, reason in BAD_ROWS[:2]]
    assert "... and 3 more (labelexport split writes every one to rejected.jsonl)" in done.stdout
    done = cli("split", str(bad_export), "--out", str(tmp_path / "o"), "--max-errors", "4")
    assert len(_lint_lines(done.stdout)) == 4
    assert f"... and 1 more in {tmp_path / 'o' / 'rejected.jsonl'}" in done.stdout
    assert done.stdout.rstrip().endswith(f"report: {tmp_path / 'o' / 'report.html'}")
    done = cli("validate", str(bad_export), "--max-errors", "0")
    assert _lint_lines(done.stdout) == [] and "more" not in done.stdout
    assert "5 rejected" in done.stdout


@pytest.mark.parametrize("value", ["-1", "101", "x"])
def test_max_errors_out_of_range_is_bad_usage(bad_export, value):
    done = cli("validate", str(bad_export), "--max-errors", value)
    assert done.returncode == 2 and "--max-errors" in done.stderr


def test_json_output_is_the_manifest_only(bad_export):
    done = cli("validate", str(bad_export), "--json")
    manifest = json.loads(done.stdout)  # nothing else printed around it
    assert [(r["line"], r["reason"]) for r in manifest["rejected"]["first"]] == BAD_ROWS


def test_warnings_are_printed_and_do_not_change_the_status(tmp_path):
    source = tmp_path / "export.csv"
    source.write_text("".join(f"TRAIN,gs://b/t{k}.png,{BOX}\n" for k in range(8)) +
                      "".join(f"VALIDATION,gs://b/v{k}.png,{BOX}\n" for k in range(2)) +
                      "TRAIN,gs://b/tulip.png,tulip,0.1,0.1,,,0.3,0.3,,\n" +
                      f"TEST,gs://b/x.png,{BOX}\n")
    done = cli("split", str(source), "--out", str(tmp_path / "o"), "--min-items-per-label", "3")
    assert done.returncode == 0 and "status: ok" in done.stdout
    warnings = [line for line in done.stdout.splitlines() if ": warning: " in line]
    assert warnings == [  # split by split (train, validation, test), label by label
        f"{source}: warning: label_rare_in_split: label 'tulip' has 1 in train, below the "
        "minimum of 3",
        f"{source}: warning: label_rare_in_split: label 'rose' has 2 in validation, below the "
        "minimum of 3",
        f"{source}: warning: label_missing_from_split: label 'tulip' has no item in validation",
        f"{source}: warning: label_rare_in_split: label 'rose' has 1 in test, below the "
        "minimum of 3",
        f"{source}: warning: label_missing_from_split: label 'tulip' has no item in test",
    ]
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["policy"]["minItemsPerLabel"] == 3
    assert len(manifest["warnings"]) == len(warnings)


@pytest.mark.parametrize("command", [[], ["split"], ["validate"], ["retry"], ["runs"]])
def test_help_names_no_file_the_user_does_not_have(command):
    done = cli(*command, "--help")
    assert done.returncode == 0 and "usage: labelexport" in done.stdout
    assert "DESIGN" not in done.stdout


# --------------------------------------------------------------------------- progress

# The command as installed, with Progress's own `interval` argument set to 0 so that a small
# file shows progress; whether it shows is still decided by Progress itself (stderr a tty).
_RUN_WITH_TINY_INTERVAL = (
    "import functools, sys\n"
    "from labelexport import cli, progress\n"
    "cli.Progress = functools.partial(progress.Progress, interval=0.0)\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


def _run_on_pty(args: list[str]) -> tuple[int, bytes, str]:
    """Run with stderr on a pseudo-terminal; (exit status, what the terminal got, stdout)."""
    master, slave = os.openpty()
    try:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave)
    finally:
        os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed its side
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    stdout = process.stdout.read().decode()
    process.stdout.close()
    return process.wait(timeout=60), seen, stdout


@pytest.fixture
def big_export(tmp_path) -> Path:
    source = tmp_path / "big.csv"
    with open(source, "w") as out:
        for k in range(60_000):  # 2.7 MB: three blocks of the reader
            out.write(f"UNASSIGNED,gs://b/{k}.png,{BOX}\n")
    return source


def test_progress_shows_on_a_terminal(big_export):
    code, terminal, stdout = _run_on_pty(
        [sys.executable, "-c", _RUN_WITH_TINY_INTERVAL, "validate", str(big_export)])
    assert code == 0
    assert b"read " in terminal and b" MB" in terminal and b"MB/s" in terminal
    assert b"(100%)" in terminal  # the total is known for a local file
    assert terminal.endswith(b"\r")  # the line is cleared at the end
    assert "status: ok" in stdout and "read" not in stdout.split("\n")[0]


def test_no_progress_when_stderr_is_not_a_terminal(big_export):
    done = subprocess.run([sys.executable, "-c", _RUN_WITH_TINY_INTERVAL, "validate",
                           str(big_export)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stderr == ""
    assert "MB/s" not in done.stdout


def test_installed_command_is_silent_on_a_terminal_for_a_short_run(export):
    code, terminal, stdout = _run_on_pty([LABELEXPORT, "validate", str(export)])
    assert code == 0 and terminal == b"" and "status: ok" in stdout


@pytest.mark.parametrize("schema", vertex_samples.SCHEMAS)
def test_split_a_vertex_export_with_and_without_its_type(tmp_path, schema):
    export = vertex_samples.render_export(vertex_samples.sample_for(schema))
    source = tmp_path / "export.jsonl"
    source.write_text(export.text(next(iter(export.files))))
    for args, origin in (((), "inferred"), (("--type", schema), "option"),
                         (("--type", vertex_samples.IOFORMAT_SCHEMA.format(schema)), "option")):
        out = tmp_path / f"out-{origin}-{len(args)}"
        done = cli("split", str(source), "--out", str(out), "--json", *args)
        assert done.returncode == 0, done.stderr
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["source"]["annotationType"] == schema
        assert manifest["source"]["annotationTypeSource"] == origin
        assert manifest["rows"]["rejected"] == 0
        assert sorted(p.name for p in out.iterdir()) == [
            "manifest.json", "rejected.jsonl", "report.html", "test.jsonl", "train.jsonl",
            "validation.jsonl"]


def test_split_a_local_export_set(tmp_path):
    dataset = vertex_samples.sample_for("image_bounding_box", dirty=True)
    export = vertex_samples.render_export(dataset)
    listed = []
    for k, annotation_set in enumerate(dataset.annotation_sets):
        (tmp_path / f"part-{k}.jsonl").write_text(export.text(annotation_set))
        listed.append({"uri": f"part-{k}.jsonl"})
    export_set = tmp_path / "export-set.json"
    export_set.write_text(json.dumps({"kind": "labelexport#exportSet", "backend": "vertex",
                                      "annotationType": "image_bounding_box",
                                      "files": listed}))
    done = cli("split", str(export_set), "--out", str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr  # the dirty sample is over the reject threshold
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [f["uri"] for f in manifest["source"]["files"]] == ["part-0.jsonl", "part-1.jsonl"]
    assert manifest["rows"]["rejected"] == len(export.bad_lines)
    assert manifest["source"]["annotationTypeSource"] == "export_set"
    assert "part-1.jsonl:" in done.stdout  # the rejects name their file
    bad = cli("validate", str(tmp_path / "export-set.json").replace("export-set", "missing"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
