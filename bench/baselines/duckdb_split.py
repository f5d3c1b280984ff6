"""DuckDB baseline: split a headerless CSV into one file per value of its first column.

The same job as ``awk -F, '{print > $1".csv"}'`` in one statement: every column read as
VARCHAR and written back, partitioned on the first column (kept in the output rows):

    COPY (SELECT * FROM read_csv(SOURCE, all_varchar, header=false))
      TO OUT_DIR (FORMAT csv, HEADER false, PARTITION_BY (column0), WRITE_PARTITION_COLUMNS)

which writes ``OUT_DIR/column0=<value>/data_*.csv``.

    python duckdb_split.py SOURCE OUT_DIR [--threads N] [--memory-limit 1GB]
"""

import argparse

import duckdb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("out_dir")
    parser.add_argument("--threads", type=int, default=0, help="0: DuckDB's default (all cores)")
    parser.add_argument("--memory-limit", default="", help="e.g. 1GB; empty: DuckDB's default")
    args = parser.parse_args()
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
    src = args.source.replace("'", "''")
    dst = args.out_dir.replace("'", "''")
    reader = (
        f"read_csv('{src}', all_varchar = true, header = false, delim = ',', quote = '\"', "
        f"auto_detect = true)"
    )
    first = con.execute(f"SELECT * FROM {reader} LIMIT 0").description[0][0]
    con.execute(
        f'COPY (SELECT * FROM {reader}) TO \'{dst}\' (FORMAT csv, HEADER false, '
        f'PARTITION_BY ("{first}"), WRITE_PARTITION_COLUMNS true, OVERWRITE_OR_IGNORE true)'
    )


if __name__ == "__main__":
    main()
