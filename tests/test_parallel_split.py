"""The two-core split of a large local export writes exactly what one core writes."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from labelexport import parallel
from labelexport.config import SplitPolicy
from labelexport.outputs import LocalFolder
from labelexport.splitter import SplitJob, split_export

BB = "IMAGE_BOUNDING_BOX_ANNOTATION"
USES = ["TRAIN", "VALIDATION", "TEST", "UNASSIGNED", "", "training"]


def _row(rng: random.Random, item: int, use: str) -> str:
    if rng.random() < 0.05:  # a bad row
        return rng.choice([f"HOLDOUT,gs://b/{item}.jpg,rose,0.1,0.1,,,0.3,0.3,,",
                           f"{use},gs://b/{item}.jpg,rose,0.5,0.1,,,0.3,0.3,,",
                           f"{use},gs://b/{item}.jpg,rose,0.1"])
    x = rng.randint(0, 40) / 100
    return f"{use},gs://b/{item}.jpg,label_{rng.randint(0, 9)},{x},{x},,,{x + 0.5},{x + 0.5},,"


def _export(seed: int, rows: int, items: int, scattered: bool, consistent: bool) -> bytes:
    rng = random.Random(seed)
    item_use = {i: rng.choice(USES) for i in range(items)}
    lines = []
    item = 0
    while len(lines) < rows:
        item = rng.randrange(items) if scattered else (item + 1) % items
        for _ in range(rng.randint(1, 4)):
            use = item_use[item] if consistent else rng.choice(USES)
            lines.append(_row(rng, item, use))
    return ("\n".join(lines) + "\n").encode()


def _files(folder: Path) -> dict[str, bytes]:
    """Every file; the manifest and the report with their folder taken out of the URIs they
    list."""
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    for name in ("manifest.json", "report.html"):
        files[name] = files[name].replace(str(folder).encode(), b"DEST")
    return files


def _both(tmp: Path, data: bytes, policy: SplitPolicy, monkeypatch,
          joined: bool | None = None) -> tuple[dict, dict, dict]:
    """Split on one core, then on two; `joined` True/False: the halves must (not) be joined."""
    source = tmp / "export.csv"
    source.write_bytes(data)
    job = SplitJob(source_uri=str(source), policy=policy, annotation_type=BB)
    with open(source, "rb") as stream:
        serial = split_export(stream, job, LocalFolder(tmp / "serial"))
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 1)
    one_core_runs = []
    monkeypatch.setattr(parallel, "split_export",
                        lambda *a, **k: one_core_runs.append(1) or split_export(*a, **k))
    manifest = parallel.split_local_export(str(source), job, str(tmp / "parallel"))
    if joined is not None:
        assert one_core_runs == ([] if joined else [1])
    assert manifest["rows"] == serial["rows"]
    return _files(tmp / "serial"), _files(tmp / "parallel"), manifest


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), rows=st.integers(2, 400), items=st.integers(1, 60),
       scattered=st.booleans(), consistent=st.booleans(),
       unassigned=st.sampled_from(["assign", "keep"]))
def test_two_cores_write_the_same_bytes_as_one(tmp_path_factory, monkeypatch, seed, rows, items,
                                               scattered, consistent, unassigned):
    tmp = tmp_path_factory.mktemp("split")
    data = _export(seed, rows, items, scattered, consistent)
    serial, two_cores, _ = _both(tmp, data, SplitPolicy(unassigned=unassigned), monkeypatch)
    assert two_cores == serial


def test_an_item_in_both_halves_is_counted_once(tmp_path, monkeypatch):
    rows = ["TRAIN,gs://b/shared.jpg,rose,0.1,0.1,,,0.3,0.3,,"] + \
        [f"TEST,gs://b/{n}.jpg,rose,0.1,0.1,,,0.3,0.3,," for n in range(200)] + \
        ["training,gs://b/shared.jpg,rose,0.1,0.1,,,0.3,0.3,,"]
    serial, two_cores, manifest = _both(tmp_path, ("\n".join(rows) + "\n").encode(),
                                        SplitPolicy(), monkeypatch, joined=True)
    assert two_cores == serial
    assert manifest["splits"]["train"] | {"uri": None} == \
        {"uri": None, "rows": 2, "items": 1, "labels": {"rose": 2},
         "bytes": len(serial["train.csv"])}


def test_halves_that_disagree_fall_back_to_one_core(tmp_path, monkeypatch):
    rows = ["TRAIN,gs://b/x.jpg,rose,0.1,0.1,,,0.3,0.3,,"] + \
        [f"TEST,gs://b/{n}.jpg,rose,0.1,0.1,,,0.3,0.3,," for n in range(200)] + \
        ["TEST,gs://b/x.jpg,rose,0.1,0.1,,,0.3,0.3,,",  # an ml_use_conflict one core sees
         "UNASSIGNED,gs://b/x.jpg,rose,0.1,0.1,,,0.3,0.3,,"]
    serial, two_cores, manifest = _both(tmp_path, ("\n".join(rows) + "\n").encode(),
                                        SplitPolicy(), monkeypatch, joined=False)
    assert two_cores == serial
    assert manifest["rejected"]["reasons"] == {"ml_use_conflict": 1}
    assert not list(tmp_path.glob("parallel/.part-*"))


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_line_numbers_and_bom_across_the_cut(tmp_path, monkeypatch, bom):
    rows = [f"TRAIN,gs://b/{n}.jpg,rose,0.1,0.1,,,0.3,0.3,," for n in range(300)]
    rows[10] = rows[250] = "HOLDOUT,gs://b/z.jpg,rose,0.1,0.1,,,0.3,0.3,,"
    serial, two_cores, _ = _both(tmp_path, bom + ("\r\n".join(rows) + "\r\n").encode(),
                                 SplitPolicy(), monkeypatch, joined=True)
    assert two_cores == serial
    assert b'"line": 11' in two_cores["rejected.jsonl"]
    assert b'"line": 251' in two_cores["rejected.jsonl"]
    first = json.loads(two_cores["manifest.json"])["rejected"]["first"]
    assert [row["line"] for row in first] == [11, 251]  # the halves' first rejects, in order


def test_the_workers_come_from_a_fork_server_unless_this_process_has_one_thread():
    assert parallel._pool_context(1).get_start_method() == "fork"
    for threads in (2, 9, None):  # None: the count is unknown (no /proc)
        assert parallel._pool_context(threads).get_start_method() == "forkserver"


def test_with_other_threads_alive_the_fork_server_splits_the_same_bytes(tmp_path, monkeypatch):
    stop = threading.Event()
    waiter = threading.Thread(target=stop.wait)
    waiter.start()
    chosen = []
    real = parallel._pool_context
    monkeypatch.setattr(parallel, "_pool_context",
                        lambda threads: chosen.append(real(threads)) or chosen[-1])
    try:
        serial, two_cores, _ = _both(tmp_path, _export(3, 300, 40, True, True), SplitPolicy(),
                                     monkeypatch, joined=True)
    finally:
        stop.set()
        waiter.join()
    assert two_cores == serial
    assert [c.get_start_method() for c in chosen] == ["forkserver"]


_FORKED_HERE = """
import sys
from labelexport import parallel
from labelexport.config import SplitPolicy
from labelexport.splitter import SplitJob
parallel.MIN_PARALLEL_BYTES = 1
real, chosen = parallel._pool_context, []
parallel._pool_context = lambda threads: chosen.append(real(threads)) or chosen[-1]
job = SplitJob(source_uri=sys.argv[1], policy=SplitPolicy(),
               annotation_type="IMAGE_BOUNDING_BOX_ANNOTATION")
parallel.split_local_export(sys.argv[1], job, sys.argv[2])
print(*[c.get_start_method() for c in chosen])
"""


def test_a_process_of_one_thread_forks_its_workers_and_splits_the_same_bytes(tmp_path):
    # In a fresh interpreter: the test runner may hold threads of client libraries by now.
    source = tmp_path / "export.csv"
    source.write_bytes(_export(5, 300, 40, True, True))
    job = SplitJob(source_uri=str(source), policy=SplitPolicy(), annotation_type=BB)
    with open(source, "rb") as stream:
        split_export(stream, job, LocalFolder(tmp_path / "serial"))
    run = subprocess.run([sys.executable, "-c", _FORKED_HERE, str(source),
                          str(tmp_path / "parallel")],
                         capture_output=True, text=True, timeout=120, check=True)
    assert run.stdout.split() == ["fork"]
    assert _files(tmp_path / "parallel") == _files(tmp_path / "serial")


@pytest.mark.parametrize("kernel_copy", ["works", "refused", "fails midway"])
def test_a_half_is_appended_whole_however_the_kernel_copy_goes(tmp_path, monkeypatch,
                                                               kernel_copy):
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(b"row 1\nrow 2\n")
    second.write_bytes(b"row 3\nrow 4\nrow 5\n")
    monkeypatch.setattr(parallel, "_COPY_BYTES", 4)  # several rounds
    real, calls = parallel.os.copy_file_range, []

    def copy(*args):
        calls.append(args)
        if kernel_copy == "refused" or (kernel_copy == "fails midway" and len(calls) > 2):
            raise OSError(18, "Invalid cross-device link")
        return real(*args)

    monkeypatch.setattr(parallel.os, "copy_file_range", copy)
    parallel._append(first, second)
    assert first.read_bytes() == b"row 1\nrow 2\nrow 3\nrow 4\nrow 5\n"
    assert len(calls) > 2 if kernel_copy != "refused" else len(calls) == 1
