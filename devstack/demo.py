"""The whole pipeline on this machine: one labeling job, from completion message to split files.

    python -m devstack.demo [--type TYPE] [--format csv|jsonl] [--dirty] [--keep-running]

Starts every part on loopback (devstack.pipeline.LocalPipeline), publishes a labeling-completion
message for a sample annotated dataset (default: the bounding-box one, as CSV), waits for the
result message and shows where the split files are, the counts per split and per label, the
rejected rows, the warnings and where the report is. Then it stops everything, also on Ctrl-C
or on failure. With --keep-running the pipeline stays up, with the commands to drive it by
hand printed, until Ctrl-C.

Exit status: 0 done (a `rejected` status is a result too), 1 failed (one line says why),
2 bad usage, 130 interrupted (Ctrl-C), 143 on SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence

from labelexport.split_warnings import describe

from devstack import sample_exports, vertex_samples
from devstack.pipeline import LocalPipeline

RESULT_TIMEOUT = 120.0
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_TYPE = "IMAGE_BOUNDING_BOX_ANNOTATION"


class DemoFailed(Exception):
    """Ends the demo with exit status 1 and this one-line reason."""


class Interrupted(BaseException):
    """Ctrl-C (SIGINT) or SIGTERM: stop everything and exit with 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _ignore_signals() -> None:
    """While stopping: a second Ctrl-C must not cut the stop short."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def annotation_type(text: str) -> str:
    """A full AnnotationType name, or an unambiguous short one (bounding-box, video-event)."""
    key = text.strip().upper().replace("-", "_")
    types = sample_exports.ANNOTATION_TYPES
    exact = [t for t in types if t in (key, f"{key}_ANNOTATION")]
    found = exact or [t for t in types if t.endswith((f"_{key}_ANNOTATION", f"_{key}"))]
    if len(found) != 1:
        what = "ambiguous" if found else "unknown"
        raise argparse.ArgumentTypeError(
            f"{what} annotation type {text!r}; one of: {', '.join(found or types)}")
    return found[0]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack.demo",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("datalabeling", "vertex"),
                        default="datalabeling",
                        help="export from the Data Labeling stand-in (default) or from the "
                             "Vertex AI one")
    parser.add_argument("--type", metavar="TYPE",
                        help="annotation type of the sample dataset, e.g. "
                             "IMAGE_CLASSIFICATION_ANNOTATION or video-event, or with "
                             "--backend vertex a Vertex schema such as text_extraction "
                             "(default: bounding box)")
    parser.add_argument("--format", choices=("csv", "jsonl"),
                        help="export format (default: csv, jsonl for the types without CSV)")
    parser.add_argument("--dirty", action="store_true",
                        help="use the sample with bad rows, to see them rejected")
    parser.add_argument("--keep-running", action="store_true",
                        help="keep the pipeline up afterwards and print how to use it by hand")
    args = parser.parse_args(argv)
    if args.backend == "vertex":
        args.type = args.type or "image_bounding_box"
        if args.type not in vertex_samples.SCHEMAS:
            parser.error(f"no Vertex AI sample of {args.type!r}; one of: "
                         f"{', '.join(vertex_samples.SCHEMAS)}")
        args.format = "jsonl"
        return args
    try:
        args.type = annotation_type(args.type or DEFAULT_TYPE)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    sample = next((s for s in sample_exports.CATALOG
                   if s.annotation_type == args.type and s.dirty == args.dirty), None)
    if sample is None:
        dirty = sorted({s.annotation_type for s in sample_exports.CATALOG if s.dirty})
        parser.error(f"no sample with bad rows for {args.type}; --dirty works with "
                     f"{', '.join(dirty)}")
    args.format = args.format or sample.formats[0]
    if args.format not in sample.formats:
        parser.error(f"{args.type} is exported as {' or '.join(sample.formats)} only")
    return args


def say(text: str = "") -> None:
    print(text, flush=True)


def fail(reason: str) -> None:
    print(f"demo failed: {reason}", file=sys.stderr, flush=True)


def _table(rows: list[list[str]], right: set[int] = frozenset(), indent: str = "  ") -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.rjust(w) if i in right else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        lines.append((indent + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def show_result(pipeline: LocalPipeline, manifest: dict, attributes: dict,
                waited: float) -> None:
    source, rows = manifest["source"], manifest["rows"]
    say(f"Result after {waited:.1f} s: status {manifest['status']}, run {attributes['runId']}")
    say(f"  export  {source['uri']}")
    for listed in source.get("files", []):
        say(f"          {listed['uri']} ({listed['rows']} rows)")
    origin = source["annotationTypeSource"].replace("_", " ")
    say(f"  type    {source['annotationType']} (from the {origin})")
    say(f"  rows    {rows['read']} read, {rows['written']} written, {rows['rejected']} rejected")
    say()
    rejected = manifest["rejected"]
    folder = rejected["uri"].rsplit("/", 1)[0] + "/"
    say(f"Split files, in {folder} (Storage emulator):")
    table = [["file", "rows", "items"]]
    for split in manifest["splits"].values():
        table.append([split["uri"].removeprefix(folder), str(split["rows"]), str(split["items"])])
    table.append([rejected["uri"].removeprefix(folder), str(rejected["rows"]), ""])
    table.append(["report.html", "", ""])
    table.append(["manifest.json", "", ""])
    say(_table(table, right={1, 2}))
    say()
    splits = list(manifest["splits"])
    totals: dict[str, int] = {}
    for split in manifest["splits"].values():
        for label, count in split["labels"].items():
            totals[label] = totals.get(label, 0) + count
    if totals:
        say("Rows per label and split:")
        table = [["label", *splits]]
        for label in sorted(totals, key=lambda name: (-totals[name], name)):
            table.append([label, *(str(manifest["splits"][s]["labels"].get(label, 0))
                                   for s in splits)])
        say(_table(table, right=set(range(1, len(splits) + 1))))
        say()
    if rejected["rows"]:
        show_rejected(pipeline, rejected)
    show_report(pipeline, manifest)


def show_report(pipeline: LocalPipeline, manifest: dict) -> None:
    """Where the report is; a copy outlives the emulator, which forgets it when it stops."""
    for warning in manifest.get("warnings", []):
        say(f"Warning: {warning['code']}: {describe(warning)}")
    if manifest.get("warnings"):
        say()
    uri = manifest["report"]["uri"]
    copy = pipeline.log_dir / "report.html"
    copy.write_bytes(pipeline.read(uri))
    say(f"Report: {uri} (Storage emulator)")
    say(f"  a copy to open in a browser: {copy}")
    say()


def show_rejected(pipeline: LocalPipeline, rejected: dict) -> None:
    reasons = ", ".join(f"{reason} {count}" for reason, count in rejected["reasons"].items())
    say(f"Rejected rows, from {rejected['uri'].rsplit('/', 1)[1]} ({reasons}):")
    table = [["line", "reason", "detail"]]
    for text in pipeline.read(rejected["uri"]).decode().splitlines():
        row = json.loads(text)
        detail = " ".join(str(row.get("detail", "")).split())
        detail = detail if len(detail) <= 64 else detail[:61] + "..."
        table.append([str(row["line"]), row["reason"], detail])
    say(_table(table, right={0}))
    say()


def show_commands(pipeline: LocalPipeline, manifest: dict, annotated_dataset: str,
                  fmt: str) -> None:
    commands = pipeline.commands(annotated_dataset, fmt, inline_env=False)
    train = manifest["splits"]["train"]["uri"]
    say("The pipeline keeps running. In another shell, set:")
    for line in pipeline.shell_env_lines():
        say(f"  {line}")
    say()
    say("Publish a labeling-completion message (a new run each time):")
    say(f"  {commands['publish']}")
    say("or the same with the project's command (a fresh requestId):")
    say(f"  {commands['retry']}")
    say("Read the result messages (gcloud waits ~90 s when there is none):")
    say(f"  {commands['results']}")
    say("List and read the split files:")
    say(f"  {commands['list_splits']}")
    say(f"  gcloud storage cat {train} | head")
    say(f"  {pipeline.validate_command(train, inline_env=False)}")
    say("See the runs, from their run records and manifests (one in full with its run id):")
    say(f"  {commands['runs']}")
    say()
    say("Press Ctrl-C to stop everything.")


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    received: list[int] = []

    def interrupt(signum: int, frame: object) -> None:
        received.append(signum)
        raise Interrupted(signum)

    # Installed whatever the shell left: a background job starts with SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    pipeline: LocalPipeline | None = None
    logs = ""
    try:
        pipeline = LocalPipeline()
        logs = f" (logs in {pipeline.log_dir}/)"
        say(f"Starting the pipeline on 127.0.0.1 (process logs in {pipeline.log_dir}/) ...")
        with pipeline:
            demonstrate(pipeline, args)
            _ignore_signals()
    except Interrupted as interrupted:
        received.append(interrupted.signum)
    except DemoFailed as failure:
        fail(f"{failure}{logs}")
        return EXIT_FAILED
    except Exception as error:  # noqa: BLE001 - one line for a newcomer, the logs have the rest
        if not received:  # else a Ctrl-C that surfaced as another error (e.g. in a fork hook)
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
            fail(f"{type(error).__name__}: {first_line}{logs}")
            return EXIT_FAILED
    finally:
        _ignore_signals()
        if pipeline is not None:
            pipeline.stop()  # already done unless starting or stopping failed
    if received:
        say()
        say(f"Interrupted ({signal.Signals(received[0]).name}): stopped everything.")
        return 128 + received[0]
    say(f"Stopped everything. The demo took {time.monotonic() - started:.1f} s.")
    return EXIT_OK


def demonstrate(pipeline: LocalPipeline, args: argparse.Namespace) -> None:
    say(f"  ready in {pipeline.startup_seconds:.1f} s: the Pub/Sub and Storage emulators,")
    say("  the Data Labeling and Vertex AI stand-ins, export_labeled_data and split_export")
    say()
    request_id = f"demo-{int(time.time())}"
    if args.backend == "vertex":
        annotated = pipeline.vertex_dataset(args.type, dirty=args.dirty)
        sent = pipeline.publish_vertex_completion(annotated, request_id=request_id)
    else:
        annotated = pipeline.annotated_dataset(args.type, dirty=args.dirty)
        sent = pipeline.publish_completion(annotated, args.format, request_id=request_id)
    published = time.monotonic()
    say(f"Published a labeling-completion message to "
        f"{pipeline.completion_topic.rsplit('/', 1)[1]}:")
    say(_table([[key, str(value)] for key, value in sent.body.items()]))
    try:
        manifest, attributes = pipeline.wait_for_result(sent.run_id, timeout=RESULT_TIMEOUT)
    except TimeoutError:
        raise DemoFailed(f"no result message after {RESULT_TIMEOUT:g} s") from None
    waited = time.monotonic() - published
    if manifest["status"] == "failed":
        error = manifest.get("error", {})
        raise DemoFailed(f"the pipeline reported status failed ({error.get('reason')}): "
                         f"{error.get('message')}")
    show_result(pipeline, manifest, attributes, waited)
    if not args.keep_running:
        say("To look at the files, run the demo with --keep-running: it prints the commands.")
        return
    show_commands(pipeline, manifest, annotated, args.format)
    while True:
        time.sleep(3600)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(parse_args(argv))
    except KeyboardInterrupt:  # before the handlers were installed
        return 130


if __name__ == "__main__":
    sys.exit(main())
