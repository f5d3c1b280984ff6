"""Benchmark `labelexport split` against awk, pandas and DuckDB doing the same split.

For each generated export (bench/generate.py) every tool runs as a child process, side by side
in one run, repeats interleaved: wall time (perf_counter around the child), CPU time and peak
RSS of the child (os.wait4), MB/s (input bytes / wall) and the ratio to awk's wall time.

* awk -F, '{print > $1".csv"}' : the floor, a split by the first column with no validation.
* labelexport split SOURCE --out DIR --type IMAGE_BOUNDING_BOX_ANNOTATION [--format jsonl]
  (and labelexport-base: the same with --labelexport-base, say an earlier commit's build)
* pandas (CSV only): read_csv in chunks, all text, group by column 0, append per-value files;
  "pandas-whole" reads the file in one go (run up to --pandas-whole-max rows, for its memory).
* DuckDB (CSV only): COPY (SELECT * FROM read_csv(..., all_varchar)) TO DIR (PARTITION_BY ...).
* json.loads and msgspec (JSONL only): parse every line (json.loads into dicts; msgspec into
  typed structs of the schema), append it to one of three files by its item, no validation.

The targets (labelexport on 10^7 CSV rows: at most 6x awk's time, at most 300 MB peak RSS) are
reported, never asserted. Memory probes (each CSV size again, but up to 60 boxes per image, so
~9x fewer distinct images) show whether labelexport's memory follows rows or distinct items.

    python bench/split_bench.py --baseline-python .venv-bench/bin/python          # full
    python bench/split_bench.py --sizes 1e5 --jsonl-size 1e5 --baseline-python ...  # quick

MB means 10^6 bytes everywhere (MB/s and peak RSS). Results go to bench/out/results.json.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (bench/ is not a package)

OUT = HERE / "out"
TOOLS = ("labelexport", "awk", "pandas", "duckdb", "json.loads", "msgspec")
JSON_TOOLS = ("labelexport", "awk", "json.loads", "msgspec")
ANNOTATION_TYPE = "IMAGE_BOUNDING_BOX_ANNOTATION"
VERTEX_ANNOTATION_TYPE = "image_bounding_box"
TARGET_RATIO = 6.0
TARGET_RSS_MB = 300.0
PROBE_MAX_BOXES = 60

AWK_CSV = '{print > $1".csv"}'
# $1 of a JSON line is '{"name":"projects/.../examples/ID"', not a usable file name (it holds
# slashes and is distinct per line), so the floor keys on one hex digit of the example id.
AWK_JSONL = '{print > (substr($1, length($1) - 1, 1) ".jsonl")}'
# $1 of a Vertex line ends with the image URI's '.jpg"': key on its last digit.
AWK_VERTEX = '{print > (substr($1, length($1) - 5, 1) ".jsonl")}'
AWK_JSONL_NOTE = (
    "JSONL: awk is the I/O floor, not a split (no JSON parsing): the same command, with the\n"
    "   file name taken from one hex digit of the example name in $1."
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_sizes(text: str) -> list[int]:
    return [generate.parse_size(part) for part in text.split(",") if part.strip()]


def human(n: float) -> str:
    """1000000 -> '1e6', 2500000 -> '2.5e6'."""
    if n <= 0:
        return "0"
    exp = len(str(int(n))) - 1
    mant = n / 10**exp
    return f"{mant:g}e{exp}"


# ----------------------------------------------------------------------------- child runs


def run_child(cmd: list[str], cwd: Path, timeout: float) -> dict:
    """Run cmd through measure_child.py: wall/cpu seconds, peak RSS (bytes), exit, stderr tail."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        launcher = [sys.executable, "-I", "-S", str(HERE / "measure_child.py"), str(result)]
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(launcher + cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, start_new_session=True)
            try:
                proc.wait(timeout=timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                timed_out = True
        try:
            res = json.loads(result.read_text())
        except (OSError, ValueError):
            res = {"wall_s": float("nan"), "cpu_s": float("nan"), "peak_rss_bytes": 0,
                   "exit": proc.returncode}
        res["timed_out"] = timed_out
        res["stderr_tail"] = err_path.read_bytes()[-2000:].decode("utf-8", "replace")
        res["stdout_tail"] = out_path.read_bytes()[-2000:].decode("utf-8", "replace")
    return res


def measurement_floor() -> float:
    """Peak RSS (bytes) that `true` shows through the launcher: no reading can be lower."""
    return run_child(["true"], Path.cwd(), 60)["peak_rss_bytes"]


def tree_size(path: Path) -> tuple[int, int]:
    files = size = 0
    for root, _, names in os.walk(path):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(root, name))
    return files, size


def warm_cache(path: Path) -> None:
    with open(path, "rb", buffering=0) as fh:
        while fh.read(16 << 20):
            pass


# ------------------------------------------------------------------------------- datasets


def plan_datasets(args) -> list[dict]:
    """The datasets to run, each with the tools that apply to it."""
    only = set(args.only)
    plan = []
    for rows in args.sizes:
        tools = [t for t in ("labelexport", "awk", "pandas") if t in only]
        if "pandas" in only and rows <= args.pandas_whole_max:
            tools.append("pandas-whole")
        if "duckdb" in only:
            tools.append("duckdb")
        plan.append({
            "id": f"csv-{human(rows)}", "kind": "csv", "size": rows,
            "max_boxes": generate.MAX_BOXES, "tools": tools,
            "title": f"CSV bounding boxes, {rows:,} rows",
        })
    if args.memory_probe and "labelexport" in only:
        for rows in args.sizes:
            plan.append({
                "id": f"csv-{human(rows)}-dense", "kind": "csv", "size": rows,
                "max_boxes": PROBE_MAX_BOXES, "probe": True,
                "tools": [t for t in ("labelexport", "awk") if t in only],
                "title": f"CSV bounding boxes, {rows:,} rows, 1-{PROBE_MAX_BOXES} boxes per "
                         "image (memory probe: same rows, ~9x fewer images)",
            })
    if args.jsonl_size:
        lines = args.jsonl_size
        plan.append({
            "id": f"jsonl-{human(lines)}", "kind": "jsonl", "size": lines,
            "max_boxes": generate.MAX_BOXES, "schema": "datalabeling",
            "tools": [t for t in JSON_TOOLS if t in only],
            "title": f"Data Labeling JSONL bounding-box examples, {lines:,} lines",
            "note": AWK_JSONL_NOTE,
        })
    if args.vertex_size:
        lines = args.vertex_size
        plan.append({
            "id": f"vertex-{human(lines)}", "kind": "vertex", "size": lines,
            "max_boxes": generate.MAX_BOXES, "schema": "vertex",
            "annotation_type": VERTEX_ANNOTATION_TYPE,
            "tools": [t for t in JSON_TOOLS if t in only],
            "title": f"Vertex AI image_bounding_box JSONL, {lines:,} lines",
            "note": AWK_JSONL_NOTE.replace("one hex digit of the example name",
                                           "the last digit of the image URI"),
        })
    if args.labelexport_base:
        for ds in plan:  # an earlier build may not know the Vertex formats
            if "labelexport" in ds["tools"] and ds["kind"] != "vertex":
                ds["tools"].insert(ds["tools"].index("labelexport") + 1, "labelexport-base")
    return [d for d in plan if d["tools"]]


def command(tool: str, ds: dict, src: Path, run_dir: Path, args) -> tuple[list[str], Path, Path]:
    """(argv, cwd, output dir) for one tool on one dataset."""
    out = run_dir / "out"
    cmd, cwd, out = _command(tool, ds, src, run_dir, out, args)
    if args.one_core:
        cmd = ["taskset", "-c", "0", *cmd]
    return cmd, cwd, out


def _command(tool: str, ds: dict, src: Path, run_dir: Path, out: Path, args):
    if tool == "awk":
        script = {"csv": AWK_CSV, "jsonl": AWK_JSONL, "vertex": AWK_VERTEX}[ds["kind"]]
        return [args.awk, "-F,", script, str(src)], run_dir, run_dir
    if tool in ("labelexport", "labelexport-base"):
        program = args.labelexport if tool == "labelexport" else args.labelexport_base
        cmd = [program, "split", str(src), "--out", str(out),
               "--type", ds.get("annotation_type", ANNOTATION_TYPE)]
        if ds["kind"] != "csv":
            cmd[5:5] = ["--format", "jsonl"]
        return cmd, run_dir, out
    if tool in ("json.loads", "msgspec"):
        parser = "json" if tool == "json.loads" else "msgspec"
        return [sys.executable, str(HERE / "baselines" / "json_split.py"), str(src), str(out),
                "--parser", parser, "--schema", ds["schema"]], run_dir, out
    if tool in ("pandas", "pandas-whole"):
        cmd = [args.baseline_python, str(HERE / "baselines" / "pandas_split.py"), str(src),
               str(out)]
        if tool == "pandas-whole":
            cmd.append("--whole")
        return cmd, run_dir, out
    if tool == "duckdb":
        return [args.baseline_python, str(HERE / "baselines" / "duckdb_split.py"), str(src),
                str(out)], run_dir, out
    raise ValueError(tool)


def read_manifest(out: Path) -> dict | None:
    try:
        manifest = json.loads((out / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    splits = manifest.get("splits") or {}
    rows = manifest.get("rows") or {}
    return {
        "status": manifest.get("status"),
        "rows_read": rows.get("read"),
        "rows_written": rows.get("written"),
        "rows_rejected": rows.get("rejected"),
        "items": sum(int(s.get("items") or 0) for s in splits.values()),
        "splits": {k: {"rows": v.get("rows"), "items": v.get("items")} for k, v in splits.items()},
        "reasons": (manifest.get("rejected") or {}).get("reasons"),
    }


def run_one(tool: str, ds: dict, rep: int, args) -> dict:
    run_dir = args.runs_dir / f"{ds['id']}-{tool}-{rep + 1}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    cmd, cwd, out = command(tool, ds, ds["path"], run_dir, args)
    res = run_child(cmd, cwd, args.timeout)
    res["cmd"] = cmd
    if tool in ("labelexport", "labelexport-base"):
        res["manifest"] = read_manifest(out)
        res["ok"] = res["exit"] in (0, 1) and res["manifest"] is not None
    else:
        res["ok"] = res["exit"] == 0
    res["ok"] = res["ok"] and not res["timed_out"]
    res["output_files"], res["output_bytes"] = tree_size(out) if out.exists() else (0, 0)
    if not args.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
    os.sync()  # write back (or drop) this run's output now, not during the next tool's run
    return res


def summarize(samples: list[dict], size_bytes: int, rows: int) -> dict:
    ok = [s for s in samples if s["ok"]]
    if not ok:
        return {"ok": False, "runs": len(samples)}
    wall = statistics.median(s["wall_s"] for s in ok)
    return {
        "ok": True,
        "runs": len(ok),
        "wall_s": wall,
        "wall_s_all": [round(s["wall_s"], 3) for s in ok],
        "cpu_s": statistics.median(s["cpu_s"] for s in ok),
        "mb_per_s": size_bytes / 1e6 / wall if wall > 0 else None,
        "rows_per_s": rows / wall if wall > 0 else None,
        "peak_rss_mb": statistics.median(s["peak_rss_bytes"] for s in ok) / 1e6,
        "peak_rss_mb_max": max(s["peak_rss_bytes"] for s in ok) / 1e6,
        "output_files": ok[-1]["output_files"],
        "output_bytes": ok[-1]["output_bytes"],
        "manifest": ok[-1].get("manifest"),
    }


# -------------------------------------------------------------------------------- report


def targets_for(ds: dict, summ: dict, args) -> dict | None:
    """labelexport's targets, evaluated on CSV datasets of at least --target-rows rows."""
    le, awk = summ.get("labelexport"), summ.get("awk")
    if ds["kind"] != "csv" or ds["size"] < args.target_rows or not le or not le.get("ok"):
        return None
    ratio = le["wall_s"] / awk["wall_s"] if awk and awk.get("ok") else None
    return {
        "ratio_to_awk": ratio,
        "ratio_ok": None if ratio is None else ratio <= TARGET_RATIO,
        "peak_rss_mb": le["peak_rss_mb"],
        "rss_ok": le["peak_rss_mb"] <= TARGET_RSS_MB,
    }


def print_table(ds: dict, summ: dict, target: dict | None, args) -> None:
    meta = ds["meta"]
    runs = sorted({s["runs"] for s in summ.values() if s.get("ok")}) or [0]
    items_word = {"jsonl": "examples", "vertex": "lines"}.get(ds["kind"], "images")
    print()
    print(f"== {ds['title']}")
    print(f"   {meta['items']:,} {items_word}, {meta['labels']} labels, "
          f"{meta['bytes'] / 1e6:,.0f} MB; median of {'/'.join(map(str, runs))} run(s)")
    if ds.get("note"):
        print(f"   {ds['note']}")
    awk = summ.get("awk")
    awk_wall = awk["wall_s"] if awk and awk.get("ok") else None
    floored = False
    header = (f"   {'tool':<17}{'wall s':>9}{'MB/s':>9}{'rows/s':>11}{'peak RSS MB':>13}"
              f"{'cpu s':>9}{'x awk':>8}")
    print(header + "  target (<=6x awk, <=300 MB)")
    for tool in ds["tools"]:
        s = summ[tool]
        if not s.get("ok"):
            print(f"   {tool:<17}  FAILED (see the error below)")
            continue
        ratio = f"{s['wall_s'] / awk_wall:.2f}" if awk_wall else "-"
        rss = f"{s['peak_rss_mb']:.1f}"
        if s["peak_rss_mb"] <= args.rss_floor_mb * 1.05:
            rss = f"<={args.rss_floor_mb:.1f}*"
            floored = True
        line = (f"   {tool:<17}{s['wall_s']:>9.2f}{s['mb_per_s']:>9.1f}{s['rows_per_s']:>11,.0f}"
                f"{rss:>13}"
                f"{s['cpu_s']:>9.2f}{ratio:>8}")
        if tool == "labelexport":
            if target:
                r = target["ratio_to_awk"]
                time_part = ("time: no awk figure" if r is None else
                             f"time {'meets' if target['ratio_ok'] else 'MISSES'} ({r:.1f}x)")
                rss_part = (f"memory {'meets' if target['rss_ok'] else 'MISSES'} "
                            f"({target['peak_rss_mb']:.0f} MB)")
                line += f"  {time_part}, {rss_part}"
            elif ds["kind"] == "csv":
                line += f"  (targets apply at >= {args.target_rows:,} rows)"
        print(line)
    if floored:
        print(f"   * at the measurement floor: the launcher itself peaks at "
              f"{args.rss_floor_mb:.1f} MB, so the true figure is lower")
    le = summ.get("labelexport")
    if le and le.get("ok") and le.get("manifest"):
        m = le["manifest"]
        print(f"   labelexport manifest: status {m['status']}, read {m['rows_read']}, "
              f"written {m['rows_written']}, rejected {m['rows_rejected']}, items {m['items']}")
        if m.get("rows_rejected"):
            print(f"   NOTE: the generated data is valid, yet rows were rejected: {m['reasons']}")
        if m.get("rows_read") not in (None, meta["rows"]):
            print(f"   NOTE: labelexport read {m['rows_read']} rows; the file has {meta['rows']}")


def memory_growth(plan: list[dict], results: dict, row_bytes: float) -> dict | None:
    """labelexport's peak RSS against rows and distinct items across the CSV datasets.

    Two series: the regular CSVs (~3.5 rows per image) and the dense probes (~30 rows per
    image). Along a series rows and images grow together; across the series, at equal rows,
    only the number of images differs. The dense series bounds per-row growth from above:
    even counting all of its growth as per-row, how many bytes does one more row cost?
    """
    points = []
    for ds in plan:
        s = results[ds["id"]]["summary"].get("labelexport")
        if ds["kind"] != "csv" or not s or not s.get("ok"):
            continue
        points.append({
            "dataset": ds["id"], "series": "dense" if ds.get("probe") else "regular",
            "rows": ds["size"], "items": ds["meta"]["items"], "peak_rss_mb": s["peak_rss_mb"],
        })
    if not points:
        return None
    growth: dict = {"points": points, "steps": [], "same_rows": [], "row_bytes": row_bytes}
    for series in ("regular", "dense"):
        pts = sorted((p for p in points if p["series"] == series), key=lambda p: p["rows"])
        for a, b in zip(pts, pts[1:], strict=False):
            d_rss = (b["peak_rss_mb"] - a["peak_rss_mb"]) * 1e6
            growth["steps"].append({
                "series": series, "from": a["dataset"], "to": b["dataset"],
                "rows_added": b["rows"] - a["rows"], "items_added": b["items"] - a["items"],
                "rss_added_mb": d_rss / 1e6,
                "bytes_per_added_item": d_rss / max(1, b["items"] - a["items"]),
                "bytes_per_added_row": d_rss / max(1, b["rows"] - a["rows"]),
            })
    for reg in (p for p in points if p["series"] == "regular"):
        dense = next((p for p in points if p["series"] == "dense" and p["rows"] == reg["rows"]),
                     None)
        if dense and reg["items"] != dense["items"]:
            d_rss = (reg["peak_rss_mb"] - dense["peak_rss_mb"]) * 1e6
            growth["same_rows"].append({
                "rows": reg["rows"], "regular": reg["dataset"], "dense": dense["dataset"],
                "items_difference": reg["items"] - dense["items"], "rss_difference_mb": d_rss / 1e6,
                "bytes_per_item": d_rss / (reg["items"] - dense["items"]),
            })
    dense_steps = [s for s in growth["steps"] if s["series"] == "dense"]
    if dense_steps:
        growth["max_bytes_per_row_dense"] = max(s["bytes_per_added_row"] for s in dense_steps)
    return growth


def print_memory_growth(growth: dict | None, uri_len: int) -> None:
    print()
    print("== Memory growth: labelexport peak RSS against rows and distinct images (CSV)")
    if not growth:
        print("   no labelexport results on CSV")
        return
    print(f"   {'dataset':<18}{'rows':>13}{'images':>12}{'rows/image':>12}{'peak RSS MB':>13}")
    for p in growth["points"]:
        print(f"   {p['dataset']:<18}{p['rows']:>13,}{p['items']:>12,}"
              f"{p['rows'] / p['items']:>12.1f}{p['peak_rss_mb']:>13.1f}")
    for s in growth["steps"]:
        print(f"   {s['from']} -> {s['to']}: +{s['rows_added']:,} rows, +{s['items_added']:,} "
              f"images: {s['rss_added_mb']:+.1f} MB = {s['bytes_per_added_item']:.0f} B per "
              f"added image, or {s['bytes_per_added_row']:.1f} B per added row")
    for s in growth["same_rows"]:
        print(f"   same {s['rows']:,} rows, {s['items_difference']:+,} images "
              f"({s['regular']} vs {s['dense']}): {s['rss_difference_mb']:+.1f} MB = "
              f"{s['bytes_per_item']:.0f} B per image")
    print(f"   (an image URI here is {uri_len} bytes; a row is ~{growth['row_bytes']:.0f} bytes)")
    worst = growth.get("max_bytes_per_row_dense")
    dense_rows = max((s["rows_added"] for s in growth["steps"] if s["series"] == "dense"),
                     default=0)
    if worst is None or dense_rows < 5 * 10**6:
        print("   reading: needs dense runs at least 5e6 rows apart (e.g. --sizes 1e6,1e7); at "
              "small sizes fixed costs and allocator steps dominate")
    elif worst < growth["row_bytes"] / 10:
        print(f"   reading: in the dense series (few images, many rows) one more row costs at most "
              f"{worst:.1f} B, counting all of its growth as per-row: memory does not grow with "
              "rows beyond tracking images")
    else:
        print(f"   reading: in the dense series (few images, many rows) memory grows by "
              f"{worst:.1f} B per row: memory grows with rows, not only with distinct images")


# ---------------------------------------------------------------------------------- main


def versions(args) -> dict:
    env = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    try:
        env["labelexport"] = importlib.metadata.version("labelexport")
    except importlib.metadata.PackageNotFoundError:
        env["labelexport"] = None
    for flags in (["-W", "version"], ["--version"]):
        try:
            out = subprocess.run([args.awk, *flags], capture_output=True, text=True, timeout=10)
        except OSError:
            break
        if out.returncode == 0 and out.stdout.strip():
            env["awk"] = out.stdout.splitlines()[0]
            break
    if args.baseline_python:
        code = "import pandas, duckdb; print(pandas.__version__, duckdb.__version__)"
        try:
            out = subprocess.run([args.baseline_python, "-c", code], capture_output=True,
                                 text=True, timeout=120)
            if out.returncode == 0:
                env["pandas"], env["duckdb"] = out.stdout.split()
            else:
                env["baseline_error"] = out.stderr.strip().splitlines()[-1:]
        except OSError as exc:
            env["baseline_error"] = str(exc)
    try:
        env["git_commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
            timeout=10).stdout.strip() or None
    except OSError:
        env["git_commit"] = None
    return env


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1e6,1e7"),
                   help="CSV row counts (default 1e6,1e7)")
    p.add_argument("--jsonl-size", type=lambda t: 0 if t == "0" else generate.parse_size(t),
                   default=10**6, help="JSONL lines (default 1e6; 0 to skip)")
    p.add_argument("--vertex-size", type=lambda t: 0 if t == "0" else generate.parse_size(t),
                   default=10**6, help="Vertex AI JSONL lines (default 1e6; 0 to skip)")
    p.add_argument("--one-core", action="store_true",
                   help="run every tool on one CPU (taskset -c 0): per-core throughput")
    p.add_argument("--only", type=lambda t: [x.strip() for x in t.split(",") if x.strip()],
                   default=list(TOOLS), help=f"tools to run, from {','.join(TOOLS)}")
    p.add_argument("--labelexport", default=str(Path(sys.executable).parent / "labelexport"),
                   help="the labelexport command (default: next to this Python)")
    p.add_argument("--labelexport-base", default="", metavar="COMMAND",
                   help="another labelexport command (say, of an earlier commit's checkout), "
                        "run side by side as tool labelexport-base")
    p.add_argument("--baseline-python", default="",
                   help="a Python with pandas and duckdb (bench/requirements.txt)")
    p.add_argument("--awk", default=shutil.which("awk") or "awk")
    p.add_argument("--repeat", type=int, default=0,
                   help="runs per tool; default 1 at >= 1e7 rows, 3 below; median reported")
    p.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    p.add_argument("--pandas-whole-max", type=generate.parse_size, default=10**6,
                   help="also run pandas without chunks up to this many rows (default 1e6)")
    p.add_argument("--no-memory-probe", dest="memory_probe", action="store_false",
                   help="skip the dense CSV runs (same rows, fewer images)")
    p.add_argument("--target-rows", type=generate.parse_size, default=10**7)
    p.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    p.add_argument("--keep", action="store_true", help="keep the output folders")
    p.add_argument("--results", type=Path, default=OUT / "results.json")
    args = p.parse_args(argv)
    unknown = set(args.only) - set(TOOLS)
    if unknown:
        p.error(f"unknown tools in --only: {', '.join(sorted(unknown))}")
    if {"pandas", "duckdb"} & set(args.only) and not args.baseline_python:
        p.error("pandas and duckdb need --baseline-python (or leave them out with --only)")
    if "labelexport" in args.only and not shutil.which(args.labelexport):
        p.error(f"labelexport command not found: {args.labelexport} (see --labelexport)")
    args.runs_dir = OUT / "runs"
    for name in ("baseline_python", "labelexport", "labelexport_base", "awk"):
        value = getattr(args, name)
        if value and os.sep in value:  # relative paths must survive the children's cwd
            setattr(args, name, os.path.abspath(value))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = plan_datasets(args)
    if not plan:
        log("nothing to run")
        return 2
    env = versions(args)
    if env.get("baseline_error"):
        log(f"baseline python unusable: {env['baseline_error']}")
        return 2
    env["rss_floor_mb"] = args.rss_floor_mb = measurement_floor() / 1e6
    log(f"environment: {json.dumps(env)}")
    for ds in plan:
        ds["path"], ds["meta"] = generate.ensure_dataset(
            ds["kind"], ds["size"], args.seed, ds["max_boxes"], log=log)
    shutil.rmtree(args.runs_dir, ignore_errors=True)
    results: dict = {}
    failed = False
    for ds in plan:
        repeat = args.repeat or (1 if ds["size"] >= 10**7 else 3)
        warm_cache(ds["path"])
        samples: dict[str, list[dict]] = {t: [] for t in ds["tools"]}
        for rep in range(repeat):
            for tool in ds["tools"]:
                if samples[tool] and not samples[tool][-1]["ok"]:
                    continue  # failed once: do not repeat
                res = run_one(tool, ds, rep, args)
                samples[tool].append(res)
                status = "ok" if res["ok"] else f"FAILED (exit {res['exit']})"
                log(f"[{ds['id']}] {tool} {rep + 1}/{repeat}: {res['wall_s']:.2f} s, "
                    f"{res['peak_rss_bytes'] / 1e6:.1f} MB, {status}")
        summ = {t: summarize(s, ds["meta"]["bytes"], ds["meta"]["rows"])
                for t, s in samples.items()}
        target = targets_for(ds, summ, args)
        results[ds["id"]] = {
            "title": ds["title"], "kind": ds["kind"], "path": str(ds["path"]),
            "meta": ds["meta"], "note": ds.get("note"), "summary": summ, "targets": target,
            "samples": {t: [{k: v for k, v in r.items() if k != "stdout_tail" or not r["ok"]}
                            for r in s] for t, s in samples.items()},
        }
        print_table(ds, summ, target, args)
        for tool, s in samples.items():
            if s and not s[-1]["ok"]:
                failed = True
                no_manifest = tool == "labelexport" and s[-1].get("manifest") is None
                print(f"   {tool} failed: exit {s[-1]['exit']}"
                      f"{' and no manifest.json' if no_manifest else ''}"
                      f"{' (timed out)' if s[-1]['timed_out'] else ''}; "
                      f"command: {' '.join(s[-1]['cmd'])}")
                for line in s[-1]["stderr_tail"].strip().splitlines()[-8:]:
                    print(f"     | {line}")
        sys.stdout.flush()
    csv_meta = [ds["meta"] for ds in plan if ds["kind"] == "csv"]
    row_bytes = csv_meta[0]["bytes"] / csv_meta[0]["rows"] if csv_meta else 0.0
    growth = memory_growth(plan, results, row_bytes)
    if "labelexport" in args.only and csv_meta:
        print_memory_growth(growth, len(f"{generate.BUCKET_PREFIX}/image_00000000.jpg"))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps({
        "environment": env,
        "settings": {
            "sizes": args.sizes, "jsonl_size": args.jsonl_size, "vertex_size": args.vertex_size,
            "one_core": args.one_core, "only": args.only,
            "repeat": args.repeat or "auto", "seed": args.seed,
            "targets": {"rows": args.target_rows, "max_ratio_to_awk": TARGET_RATIO,
                        "max_peak_rss_mb": TARGET_RSS_MB},
            "units": {"MB": "10^6 bytes", "wall_s": "median", "peak_rss_mb": "median"},
        },
        "datasets": results,
        "memory_growth": growth,
    }, indent=2) + "\n")
    print(f"\nresults: {args.results}")
    if not args.keep:
        shutil.rmtree(args.runs_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
