"""How long the local pipeline takes: completion message -> result message for a large export,
and the demo from start to finish.

    python -m devstack.measure_latency [--rows 10000] [--format csv|jsonl] [--repeat 3]
                                       [--no-demo]

The export is the image-classification sample scaled to `--rows` examples
(`flowers-classification-x<rows>`: one CSV row, or one JSONL line, per example). Each run is
timed from publishing its labeling-completion message to receiving its result message; the
first one also pays for the functions' first requests (clients created, imports).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from devstack.pipeline import LocalPipeline

ROOT = Path(__file__).resolve().parent.parent


def measure_exports(rows: int, fmt: str, repeat: int) -> list[float]:
    with LocalPipeline() as pipeline:
        print(f"pipeline started in {pipeline.startup_seconds:.1f} s "
              f"(logs in {pipeline.log_dir}/)", flush=True)
        name = (f"projects/{pipeline.project}/datasets/flowers/annotatedDatasets/"
                f"flowers-classification-x{rows}")
        latencies = []
        for attempt in range(1, repeat + 1):
            started = time.monotonic()
            sent = pipeline.publish_completion(name, fmt, request_id=f"latency-{attempt}")
            manifest, _ = pipeline.wait_for_result(sent.run_id, timeout=600)
            latencies.append(time.monotonic() - started)
            read = manifest.get("rows", {}).get("read")
            print(f"  run {attempt}: {latencies[-1]:6.2f} s  status {manifest['status']}, "
                  f"{read} rows read", flush=True)
            if manifest["status"] != "ok" or read != rows:
                raise SystemExit(f"unexpected result: {manifest}")
            pipeline.wait_for_run(sent.run_id)  # the next run starts on a quiet pipeline
    return latencies


def measure_demo() -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "devstack.demo"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    took = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"the demo failed ({done.returncode}): {done.stderr or done.stdout}")
    waited = re.search(r"Result after ([\d.]+) s", done.stdout)
    return took, waited[1] if waited else "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-demo", action="store_true", help="skip timing the demo")
    args = parser.parse_args(argv)

    print(f"{args.rows:,}-row {args.format} export, publish -> result message:", flush=True)
    latencies = measure_exports(args.rows, args.format, args.repeat)
    print(f"  median {statistics.median(latencies):.2f} s, min {min(latencies):.2f} s, "
          f"max {max(latencies):.2f} s", flush=True)
    if not args.no_demo:
        took, waited = measure_demo()
        print(f"python -m devstack.demo: {took:.1f} s wall time, start to finish "
              f"(its result came {waited} s after publishing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
