"""How many distinct data items split_export holds per configured memory.

On the local stack (devstack.pipeline: functions-framework, fake-gcs-server, the Pub/Sub
emulator), exports of one row per distinct item are split by split_export, largest last; the
function's peak RSS (VmHWM of its process group, which only grows) after each gives the fixed
part (the intercept) and the bytes per item (the slope). The ceiling per memory size follows:

    items = (memory - SPLIT_FIXED_MIB) / MAX_BYTES_PER_ITEM

which is what split_export enforces (SPLIT_MEMORY_MIB): the measured figures must stay under
it. MB here means MiB.

    python bench/memory_ceiling.py --items 2e5,1e6,3e6
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "functions"))

from labelexport.config import SPLIT_FIXED_MIB  # noqa: E402
from labelexport.item_index import MAX_BYTES_PER_ITEM  # noqa: E402
from labelexport.split_run import item_limit  # noqa: E402

from devstack.pipeline import LocalPipeline  # noqa: E402
from devstack.processes import peak_rss_kb  # noqa: E402

MEMORY_SIZES_MIB = (256, 512, 1024, 2048, 4096, 8192)  # what Terraform allows
OUT = HERE / "out" / "memory_ceiling.json"


def one_row_items(count: int) -> bytes:
    """A CSV bounding-box export of `count` distinct images, one box each."""
    out = io.StringIO()
    for start in range(0, count, 100_000):
        out.write("".join(f"UNASSIGNED,gs://bench/images/img_{k:09d}.jpg,label_{k % 400:03d},"
                          f"0.1000,0.2000,,,0.5000,0.6000,,\n"
                          for k in range(start, min(count, start + 100_000))))
    return out.getvalue().encode()


def measure(sizes: list[int], function_timeout: float) -> list[dict]:
    points = []
    with LocalPipeline(settings={"SPLIT_MEMORY_MIB": "0"},
                       function_timeout=function_timeout) as pipeline:
        bucket = pipeline.storage.client(pipeline.project).bucket(pipeline.export_bucket)
        for n, count in enumerate([300, *sizes]):
            run = f"items{n}"
            data = one_row_items(count)
            bucket.blob(f"exports/bench/items/{run}/export.csv").upload_from_string(data)
            del data
            uploaded = time.monotonic()
            manifest, _ = pipeline.wait_for_result(run, timeout=60 + count / 10_000)
            seconds = time.monotonic() - uploaded
            splits = sum(1 for entry in pipeline.split_function.json_logs()
                         if entry.get("message") == "splitting export"
                         and entry.get("runId") == run)
            if splits != 1:  # the stand-in gave up on the first delivery and made another
                raise SystemExit(f"{count} items: {splits} splits ran in one process (the first "
                                 f"outlasted {function_timeout:g} s): raise --function-timeout")
            if manifest.get("status") != "ok":
                raise SystemExit(f"{count} items: {json.dumps(manifest)[:500]}")
            points.append({"items": count, "split_seconds": seconds,
                           "peak_rss_mib": peak_rss_kb(pipeline.split_function.process.pid) / 1024})
            print(f"{count:>12,} items: split_export peak RSS {points[-1]['peak_rss_mib']:.0f} MiB,"
                  f" result {seconds:.1f} s after the upload", flush=True)
    return points


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", default="2e5,1e6,3e6",
                        help="distinct items of each export, comma-separated (default %(default)s)")
    parser.add_argument("--function-timeout", type=float, default=540,
                        help="how long the Eventarc stand-in waits for a split before it delivers "
                             "the event again (default %(default)s s, the production limit)")
    args = parser.parse_args()
    sizes = sorted(int(float(s)) for s in args.items.split(","))
    points = measure(sizes, args.function_timeout)
    big, bigger = points[-2], points[-1]
    slope = ((bigger["peak_rss_mib"] - big["peak_rss_mib"]) * (1 << 20)
             / (bigger["items"] - big["items"]))
    print(f"\nper distinct item, between the two largest exports: {slope:.1f} bytes (the limit "
          f"counts {MAX_BYTES_PER_ITEM})")
    print(f"{'items':>12} {'peak RSS':>9} {'limit model':>12}  (SPLIT_FIXED_MIB={SPLIT_FIXED_MIB} "
          f"+ {MAX_BYTES_PER_ITEM} B an item)")
    for point in points:
        model = SPLIT_FIXED_MIB + point["items"] * MAX_BYTES_PER_ITEM / (1 << 20)
        point["model_mib"] = model
        print(f"{point['items']:>12,} {point['peak_rss_mib']:>5.0f} MiB {model:>8.0f} MiB  "
              f"{'within' if point['peak_rss_mib'] <= model else 'OVER'}")
    print(f"\n{'memory':>8} {'distinct items split_export takes':>36}")
    ceilings = {mib: item_limit(mib) for mib in MEMORY_SIZES_MIB}
    for mib, items in ceilings.items():
        print(f"{mib:>5} MiB {items:>36,}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"points": points, "bytes_per_item": slope,
                               "split_fixed_mib": SPLIT_FIXED_MIB,
                               "ceilings": ceilings}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
