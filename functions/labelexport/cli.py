"""The `labelexport` command: split, validate and retry (DESIGN.md "Command line").

Exit status: 0 done, 1 done but status `rejected`, 2 bad usage or unreadable source.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from labelexport import config, formats, sources
from labelexport.errors import LabelExportError
from labelexport.outputs import Discard
from labelexport.parallel import split_local_export
from labelexport.progress import Progress
from labelexport.splitter import SplitJob, split_export

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


def _arg_type(parse):
    def convert(text: str):
        try:
            return parse(text)
        except (LabelExportError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return convert


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
        command.add_argument("--json", action="store_true",
                             help="print the manifest as JSON instead of a summary")

    split = commands.add_parser("split", help="validate and split an export into train/"
                                "validation/test files, rejected.jsonl and manifest.json")
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

    validate = commands.add_parser("validate", help="check every row and print the counts; "
                                   "writes nothing")
    source_options(validate)

    retry = commands.add_parser("retry", help="publish a labeling-completion message so the "
                                "pipeline exports the annotated dataset again")
    retry.add_argument("annotated_dataset", metavar="ANNOTATED_DATASET",
                       help="projects/P/datasets/D/annotatedDatasets/A")
    retry.add_argument("--topic", required=True, metavar="projects/P/topics/T")
    retry.add_argument("--format", default="csv", type=_arg_type(config.parse_format),
                       metavar="csv|jsonl")
    return parser


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


def _run_split(args: argparse.Namespace, write: bool) -> int:
    policy = config.SplitPolicy(args.unassigned, args.ratios, args.max_reject_fraction) \
        if write else config.SplitPolicy()
    dest = (args.out or sources.default_destination(args.source)) if write else None
    if sources.is_local(args.source) and (dest is None or sources.is_local(dest)):
        path = sources.local_file(args.source)
        size = path.stat().st_size
        job = SplitJob(source_uri=str(path), policy=policy, format=args.format,
                       annotation_type=args.annotation_type)
        progress = Progress(size)
        try:
            manifest = split_local_export(str(path), job, dest, on_bytes=progress)
        finally:
            progress.finish()
    else:
        manifest = _split_through_adapters(args, policy, dest)
    print(json.dumps(manifest, indent=2) if args.json else _summary(manifest, write))
    return EXIT_REJECTED if manifest["status"] == "rejected" else EXIT_OK


def _split_through_adapters(args: argparse.Namespace, policy: config.SplitPolicy,
                            dest: str | None) -> dict:
    with sources.open_source(args.source) as source:
        job = SplitJob(source_uri=source.uri, policy=policy, source_generation=source.generation,
                       format=args.format, annotation_type=args.annotation_type)
        outputs = sources.open_destination(dest) if dest else Discard()
        progress = Progress(source.size)
        try:
            return split_export(source.stream, job, outputs, on_bytes=progress)
        finally:
            progress.finish()


def _run_retry(args: argparse.Namespace) -> int:
    from labelexport import retry  # imports the Pub/Sub client only when publishing

    message_id, body = retry.publish_retry(args.annotated_dataset, args.topic, args.format)
    print(f"published message {message_id} to {args.topic}: {json.dumps(body)}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "retry":
            return _run_retry(args)
        return _run_split(args, write=args.command == "split")
    except (LabelExportError, OSError, ValueError) as exc:
        print(f"labelexport: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("labelexport: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
