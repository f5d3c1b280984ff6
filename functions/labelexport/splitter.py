"""Split one export: settle its format and annotation type, run the row loop, write the manifest.

Pure of any cloud: it reads a binary stream and writes through an Outputs adapter.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from labelexport import formats, inference
from labelexport.config import SplitPolicy
from labelexport.errors import SourceError
from labelexport.line_reader import BadLine, Block, read_lines
from labelexport.manifest import (
    MANIFEST_NAME,
    REJECTED_NAME,
    REPORT_NAME,
    Source,
    build_manifest,
    render,
    split_names,
)
from labelexport.ml_use import SPLITS
from labelexport.outputs import Outputs
from labelexport.report import write_report
from labelexport.router import Counts, Router
from labelexport.row_loop import split_lines
from labelexport.row_sinks import RowSinks

SAMPLE_LINES = 500
_SAMPLE_MAX_ITEMS = 2_000  # read-ahead bound when few lines decode (bad lines are held)


@dataclass(frozen=True)
class SplitJob:
    source_uri: str
    policy: SplitPolicy
    source_generation: str | None = None
    format: str | None = None  # None: from the source's first line
    annotation_type: str | None = None  # None: inferred
    annotation_type_source: str = "option"  # where a given annotation_type came from
    source_time: str | None = None  # when the export was written (RFC 3339)
    max_items: int | None = None  # more distinct items fail with TooManyItems; None: no limit


def sample_rows(blocks: Iterator[Block | BadLine]) -> tuple[list[Block | BadLine], list[str]]:
    """Read ahead until SAMPLE_LINES good lines (or the end); the read-ahead is replayed."""
    ahead: list[Block | BadLine] = []
    lines: list[str] = []
    for block in blocks:
        ahead.append(block)
        if isinstance(block, Block):
            lines.extend(line for line in block.lines[:SAMPLE_LINES] if line.strip())
        if len(lines) >= SAMPLE_LINES or len(ahead) >= _SAMPLE_MAX_ITEMS:
            break
    return ahead, lines[:SAMPLE_LINES]


@dataclass(frozen=True)
class Settled:
    """What an export is, decided from its first rows or given: format and annotation type."""

    format: str
    annotation_type: str
    annotation_type_source: str


def settle(job: SplitJob, ahead: list, sample: list[str]) -> Settled:
    if not sample and not any(isinstance(item, BadLine) for item in ahead):
        raise SourceError(f"{job.source_uri} is empty: no rows to split")
    sniffed = inference.sniff_format(sample)
    fmt = job.format or sniffed or "csv"
    if sniffed and sniffed != fmt:
        raise SourceError(f"{job.source_uri} looks like {sniffed.upper()}, not {fmt.upper()} "
                          f"(its first row starts with {sample[0][:40]!r})")
    if job.annotation_type:
        kind = formats.lookup(job.annotation_type)
        type_source = job.annotation_type_source
    else:
        kind = inference.infer_type(sample, fmt)
        type_source = "inferred"
    if fmt not in kind.file_formats:
        raise SourceError(f"{kind.name} exports are {kind.file_formats[0].upper()} only; "
                          f"{job.source_uri} is {fmt.upper()}")
    return Settled(fmt, kind.name, type_source)


def output_files(policy: SplitPolicy, fmt: str) -> dict[str, str]:
    """Split name (or rejected.jsonl) -> file name, for what a policy writes."""
    extension = "csv" if fmt == "csv" else "jsonl"
    files = {name: f"{name}.{extension}" for name in split_names(policy)}
    files[REJECTED_NAME] = REJECTED_NAME
    return files


def split_rows(parts: Iterable[tuple[str | None, Iterable[Block | BadLine]]], settled: Settled,
               job: SplitJob, outputs: Outputs) -> tuple[Router, list[int]]:
    """Run the row loop over each part (file URI or None, its blocks) into the split files and
    rejected.jsonl, committed only on success; the router and the rows read from each part.
    The parts are one export: an item keeps its split across them."""
    files = output_files(job.policy, settled.format)
    streams: dict[str, TextIO] = {}
    try:
        for key, filename in files.items():
            streams[key] = outputs.open(filename)
        router = Router(job.policy, job.max_items)
        sinks = RowSinks(
            writes=[streams[s].write if s in streams else None for s in SPLITS],
            rejected=streams[REJECTED_NAME],
            router=router,
        )
        decoder = formats.decoder(formats.lookup(settled.annotation_type), settled.format)
        rows_per_part = []
        for file_uri, blocks in parts:
            sinks.file = file_uri
            before = router.rows_read
            split_lines(blocks, decoder, sinks)
            rows_per_part.append(router.rows_read - before)
    except BaseException:
        for key, stream in streams.items():
            outputs.abort(files[key], stream)
        raise
    for key, stream in streams.items():
        outputs.commit(files[key], stream)
    return router, rows_per_part


def finish(job: SplitJob, settled: Settled, counts: Counts, outputs: Outputs,
           source_files: tuple[dict, ...] = (), partial_failures: tuple[dict, ...] = ()) -> dict:
    """Build the manifest, write the report it links, then the manifest, last: the commit point
    of a run."""
    source = Source(job.source_uri, job.source_generation, settled.format,
                    settled.annotation_type, settled.annotation_type_source, job.source_time,
                    source_files, partial_failures)
    files = output_files(job.policy, settled.format)
    uris = {key: outputs.uri(f) for key, f in files.items()}
    sizes = {key: outputs.size(f) for key, f in files.items()}
    manifest = build_manifest(source, counts, job.policy, uris, sizes, outputs.uri(REPORT_NAME))
    write_report(outputs, manifest)
    outputs.write_manifest(MANIFEST_NAME, render(manifest))
    return manifest


def split_export(stream: BinaryIO, job: SplitJob, outputs: Outputs,
                 on_bytes: Callable[[int], None] | None = None) -> dict:
    """Split `stream` into outputs per job.policy; returns the manifest, written last."""
    blocks = read_lines(stream, on_bytes=on_bytes)
    ahead, sample = sample_rows(blocks)
    settled = settle(job, ahead, sample)
    router, _ = split_rows([(None, itertools.chain(ahead, blocks))], settled, job, outputs)
    return finish(job, settled, router.counts(), outputs)


@dataclass(frozen=True)
class SourceFile:
    """One file of an export made of several (an export set lists them)."""

    uri: str
    generation: str | None
    open: Callable[[], AbstractContextManager[BinaryIO]]  # its bytes, as listed


def split_files(files: list[SourceFile], job: SplitJob, outputs: Outputs,
                on_bytes: Callable[[int], None] | None = None,
                partial_failures: tuple[dict, ...] = ()) -> dict:
    """Split the files of one export as one: its format and type settled from the first
    file's rows, an item's split kept across files, each reject naming its file; the
    manifest's source.files gives each file's generation and rows."""
    if not files:
        raise SourceError(f"{job.source_uri} lists no file")
    with ExitStack() as opened:
        first = opened.enter_context(files[0].open())
        first_blocks = read_lines(first, on_bytes=on_bytes)
        ahead, sample = sample_rows(first_blocks)
        settled = settle(job, ahead, sample)

        def parts() -> Iterator[tuple[str, Iterable[Block | BadLine]]]:
            yield files[0].uri, itertools.chain(ahead, first_blocks)
            for later in files[1:]:
                with later.open() as stream:
                    yield later.uri, read_lines(stream, on_bytes=on_bytes)

        each_file = parts()
        opened.callback(each_file.close)  # a file left open by a failure is closed too
        router, rows = split_rows(each_file, settled, job, outputs)
    listed = tuple({"uri": f.uri, "generation": f.generation, "rows": n}
                   for f, n in zip(files, rows, strict=True))
    return finish(job, settled, router.counts(), outputs, listed, partial_failures)
