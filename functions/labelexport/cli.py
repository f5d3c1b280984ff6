"""labelexport: validate, split and retry exports of labeled data, and look at their runs.

Exit status: 0 done, 1 done but status `rejected`, 2 bad usage or unreadable source.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from labelexport import config, formats, sources
from labelexport.errors import LabelExportError
from labelexport.outputs import Discard
from labelexport.parallel import split_local_export
from labelexport.progress import Progress
from labelexport.router import FIRST_REJECTED_KEPT
from labelexport.split_warnings import describe
from labelexport.splitter import SplitJob, split_export, split_files

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
SHOWN_WARNINGS = 20


def _arg_type(parse):
    def convert(text: str):
        try:
            return parse(text)
        except (LabelExportError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return convert


def _max_errors(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= value <= FIRST_REJECTED_KEPT:
        raise argparse.ArgumentTypeError(
            f"must be within 0..{FIRST_REJECTED_KEPT} (rejected.jsonl holds every one)")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labelexport", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def source_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("source", metavar="SOURCE",
                             help="export file: a local path or gs://bucket/object")
        command.add_argument("--type", dest="annotation_type", metavar="TYPE",
                             type=_arg_type(lambda t: formats.lookup(t).name),
                             help="Data Labeling AnnotationType name or Vertex AI import "
                                  "schema name or URI (default: inferred)")
        command.add_argument("--format", type=_arg_type(config.parse_format),
                             metavar="csv|jsonl", help="export format (default: from the file)")
        command.add_argument("--max-errors", type=_max_errors, default=20, metavar="N",
                             help="print the first N rejected rows, SOURCE:LINE: reason: "
                                  "detail (default 20; 0: none)")
        command.add_argument("--json", action="store_true",
                             help="print the manifest as JSON instead of a summary")

    split = commands.add_parser("split", help="validate and split an export into train/"
                                "validation/test files, rejected.jsonl, report.html and "
                                "manifest.json")
    source_options(split)
    split.add_argument("--out", metavar="DEST", help="local folder or gs://bucket/prefix "
                       "(default: a folder named after SOURCE beside it)")
    split.add_argument("--unassigned", default="assign", type=_arg_type(config.parse_unassigned),
                       metavar="assign|keep", help="unassigned rows: hash-assign or keep")
    split.add_argument("--ratios", default=(80, 10, 10), type=_arg_type(config.parse_ratios),
                       metavar="80,10,10", help="train,validation,test percentages for assign")
    split.add_argument("--max-reject-fraction", default=0.01, metavar="F",
                       type=_arg_type(config.parse_fraction),
                       help="above this share of rejected rows the status is rejected")
    split.add_argument("--min-items-per-label", default=1, metavar="N",
                       type=_arg_type(config.parse_min_items),
                       help="warn of a label with fewer than N in a split (default 1: off)")

    validate = commands.add_parser("validate", help="check every row and print the counts; "
                                   "writes nothing")
    source_options(validate)

    retry = commands.add_parser("retry", help="publish a labeling-completion message so the "
                                "pipeline exports the dataset again")
    retry.add_argument("annotated_dataset", metavar="RESOURCE_NAME",
                       help="a Data Labeling annotated dataset, projects/P/datasets/D/"
                            "annotatedDatasets/A, or a Vertex AI dataset, "
                            "projects/P/locations/L/datasets/D")
    retry.add_argument("--topic", required=True, metavar="projects/P/topics/T")
    retry.add_argument("--filter", default="", metavar="FILTER",
                       help="the export's filter (a Vertex AI annotationsFilter, e.g. "
                            "labels.aiplatform.googleapis.com/annotation_set_name=SET)")
    retry.add_argument("--format", default="csv", type=_arg_type(config.parse_format),
                       metavar="csv|jsonl")

    runs = commands.add_parser("runs", help="list recent runs from their run records and "
                               "manifests, or show one in full")
    runs.add_argument("run_id", nargs="?", metavar="RUN_ID", help="show this run in full")
    runs.add_argument("--bucket", default=os.environ.get("SPLIT_BUCKET"),
                      metavar="SPLIT_BUCKET",
                      help="the bucket of the run records, runs/ (default: $SPLIT_BUCKET)")
    runs.add_argument("--split-bucket", metavar="B",
                      help="the bucket of the split outputs, for statuses and reports "
                           "(default: the --bucket)")
    runs.add_argument("--limit", type=_arg_type(_positive), default=20, metavar="N",
                      help="how many runs, the newest first (default 20)")
    runs.add_argument("--json", action="store_true", help="print records and manifests as JSON")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(f"must be at least 1, not {value}")
    return value


def _summary(manifest: dict, wrote: bool) -> str:
    rows = manifest["rows"]
    source = manifest["source"]
    lines = [
        f"status: {manifest['status']}",
        f"source: {source['uri']} ({source['format']}, {source['annotationType']}, "
        f"type {source['annotationTypeSource']})",
        f"rows: {rows['read']} read, {rows['written']} written, {rows['rejected']} rejected",
    ]
    for name, split in manifest["splits"].items():
        where = f"  -> {split['uri']}" if wrote else ""
        lines.append(f"  {name:<11}{split['rows']:>10} rows {split['items']:>9} items{where}")
    rejected = manifest["rejected"]
    reasons = ", ".join(f"{k} {v}" for k, v in rejected["reasons"].items()) or "none"
    where = f"  -> {rejected['uri']}" if wrote else ""
    lines.append(f"  {'rejected':<11}{rejected['rows']:>10} rows ({reasons}){where}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def rejected_lines(manifest: dict, max_errors: int, wrote: bool) -> list[str]:
    """The first rejected rows as a linter prints them, SOURCE:LINE: reason: detail."""
    if not max_errors:
        return []
    rejected = manifest["rejected"]
    shown = rejected.get("first", [])[:max_errors]
    lines = [f"{row.get('file') or manifest['source']['uri']}:{row['line']}: {row['reason']}: "
             f"{_one_line(row['detail'])}" for row in shown]
    more = rejected["rows"] - len(shown)
    if more > 0:
        where = f"in {rejected['uri']}" if wrote else \
            "(labelexport split writes every one to rejected.jsonl)"
        lines.append(f"... and {more} more {where}")
    return lines


def warning_lines(manifest: dict) -> list[str]:
    warnings = manifest.get("warnings", [])
    source = manifest["source"]["uri"]
    lines = [f"{source}: warning: {w['code']}: {describe(w)}" for w in warnings[:SHOWN_WARNINGS]]
    if len(warnings) > SHOWN_WARNINGS:
        lines.append(f"... and {len(warnings) - SHOWN_WARNINGS} more warnings in the manifest")
    return lines


def _printed(manifest: dict, max_errors: int, wrote: bool) -> str:
    """The summary, the first rejected rows, the warnings and (if written) the report."""
    lines = [_summary(manifest, wrote), *rejected_lines(manifest, max_errors, wrote),
             *warning_lines(manifest)]
    if wrote and manifest.get("report"):
        lines.append(f"report: {manifest['report']['uri']}")
    return "\n".join(lines)


def _run_split(args: argparse.Namespace, write: bool) -> int:
    policy = config.SplitPolicy(args.unassigned, args.ratios, args.max_reject_fraction,
                                args.min_items_per_label) if write else config.SplitPolicy()
    dest = (args.out or sources.default_destination(args.source)) if write else None
    if sources.is_export_set(args.source):
        manifest = _split_set(args, policy, dest)
    elif sources.is_local(args.source) and (dest is None or sources.is_local(dest)):
        path = sources.local_file(args.source)
        stat = path.stat()
        job = SplitJob(source_uri=str(path), policy=policy, format=args.format,
                       annotation_type=args.annotation_type,
                       source_time=sources.file_time(stat.st_mtime))
        progress = Progress(stat.st_size)
        try:
            manifest = split_local_export(str(path), job, dest, on_bytes=progress)
        finally:
            progress.finish()
    else:
        manifest = _split_through_adapters(args, policy, dest)
    print(json.dumps(manifest, indent=2) if args.json
          else _printed(manifest, args.max_errors, write))
    return EXIT_REJECTED if manifest["status"] == "rejected" else EXIT_OK


def _split_through_adapters(args: argparse.Namespace, policy: config.SplitPolicy,
                            dest: str | None) -> dict:
    with sources.open_source(args.source) as source:
        job = SplitJob(source_uri=source.uri, policy=policy, source_generation=source.generation,
                       format=args.format, annotation_type=args.annotation_type,
                       source_time=source.time)
        outputs = sources.open_destination(dest) if dest else Discard()
        progress = Progress(source.size)
        try:
            return split_export(source.stream, job, outputs, on_bytes=progress)
        finally:
            progress.finish()


def _split_set(args: argparse.Namespace, policy: config.SplitPolicy, dest: str | None) -> dict:
    export_set, generation = sources.read_export_set(args.source)
    job = SplitJob(source_uri=args.source, policy=policy, source_generation=generation,
                   format=args.format or export_set.format,
                   annotation_type=args.annotation_type or export_set.annotation_type,
                   annotation_type_source="option" if args.annotation_type
                   else export_set.annotation_type_source)
    outputs = sources.open_destination(dest) if dest else Discard()
    progress = Progress(sum(f.size for f in export_set.files) or None)
    try:
        return split_files(sources.set_files(export_set, args.source), job, outputs,
                           on_bytes=progress)
    finally:
        progress.finish()


def _run_runs(args: argparse.Namespace) -> int:
    from labelexport import runs_listing
    from labelexport.gcs import GcsStore

    if not args.bucket:
        raise LabelExportError("runs needs --bucket SPLIT_BUCKET (or SPLIT_BUCKET set)")
    args.split_bucket = args.split_bucket or args.bucket
    store = GcsStore()
    if args.run_id:
        run = runs_listing.load_run(store, args.bucket, args.split_bucket, args.run_id)
        if run is None:
            raise LabelExportError(f"no run {args.run_id!r} in gs://{args.bucket}/runs/")
        print(json.dumps({"record": run.record, "manifest": run.manifest}, indent=2)
              if args.json else runs_listing.details(run))
        return EXIT_OK
    runs = runs_listing.recent_runs(store, args.bucket, args.split_bucket, args.limit)
    if args.json:
        print(json.dumps([runs_listing.summary(run) for run in runs], indent=2))
    elif runs:
        print(runs_listing.table(runs))
    else:
        print(f"no runs in gs://{args.bucket}/runs/")
    return EXIT_OK


def _run_retry(args: argparse.Namespace) -> int:
    from labelexport import retry  # imports the Pub/Sub client only when publishing

    message_id, body = retry.publish_retry(args.annotated_dataset, args.topic, args.format,
                                           args.filter)
    print(f"published message {message_id} to {args.topic}: {json.dumps(body)}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "retry":
            return _run_retry(args)
        if args.command == "runs":
            return _run_runs(args)
        return _run_split(args, write=args.command == "split")
    except (LabelExportError, OSError, ValueError) as exc:
        print(f"labelexport: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("labelexport: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
