"""pandas baseline: split a headerless CSV into one file per value of its first column.

The same job as ``awk -F, '{print > $1".csv"}'``: every field kept as text (dtype=str,
keep_default_na=False), rows appended to ``<value>.csv`` in input order. Reads in chunks by
default so memory stays bounded; ``--whole`` reads the file in one go to show what that costs.

    python pandas_split.py SOURCE OUT_DIR [--chunksize 200000 | --whole]
"""

import argparse
import csv
import os

import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("out_dir")
    parser.add_argument("--chunksize", type=int, default=200_000)
    parser.add_argument("--whole", action="store_true", help="no chunks: read the whole file")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    read = dict(header=None, dtype=str, keep_default_na=False, na_filter=False)
    frames = [pd.read_csv(args.source, **read)] if args.whole else pd.read_csv(
        args.source, chunksize=args.chunksize, **read
    )
    files = {}
    try:
        for frame in frames:
            for value, group in frame.groupby(0, sort=False):
                fh = files.get(value)
                if fh is None:
                    path = os.path.join(args.out_dir, f"{value}.csv")
                    fh = files[value] = open(path, "w", newline="")  # noqa: SIM115
                group.to_csv(fh, header=False, index=False, quoting=csv.QUOTE_MINIMAL)
    finally:
        for fh in files.values():
            fh.close()


if __name__ == "__main__":
    main()
