"""Opens a SOURCE or DEST of the command line: a local path, or gs:// through the Storage adapter.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from labelexport import export_sets
from labelexport.errors import SourceError
from labelexport.export_sets import MAX_SET_BYTES, ExportSet
from labelexport.manifest import source_time
from labelexport.outputs import LocalFolder, Outputs
from labelexport.splitter import SourceFile


@dataclass
class OpenSource:
    uri: str
    stream: BinaryIO
    size: int | None
    generation: str | None
    time: str | None  # when the export was written: its object's creation, a file's mtime


def is_local(uri: str) -> bool:
    return not uri.startswith("gs://")


def local_file(uri: str) -> Path:
    """The path of a readable local export file; SourceError says why it is not one."""
    path = Path(uri)
    if path.is_dir():
        raise SourceError(f"{uri} is a folder, not an export file")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise SourceError(f"cannot read {uri}: {exc.strerror}") from None
    return path


@contextmanager
def open_source(uri: str) -> Iterator[OpenSource]:
    if uri.startswith("gs://"):
        from labelexport import gcs

        with gcs.open_object(uri) as (stream, blob):
            yield OpenSource(uri, stream, blob.size, str(blob.generation),
                             source_time(blob.time_created))
        return
    path = local_file(uri)
    with open(path, "rb") as stream:
        stat = os.fstat(stream.fileno())
        yield OpenSource(str(path), stream, stat.st_size, None, file_time(stat.st_mtime))


def file_time(mtime: float) -> str:
    return source_time(datetime.fromtimestamp(mtime, UTC))


def default_destination(source_uri: str) -> str:
    """A folder named after the source, beside it: data/export.csv -> data/export/."""
    head, _, name = source_uri.rpartition("/")
    if not name:
        raise SourceError(f"{source_uri} names a folder, not an export file")
    stem = name.rsplit(".", 1)[0]
    if not stem or stem == name:
        stem = f"{name}.split"
    return f"{head}/{stem}" if head else stem


def open_destination(dest: str) -> Outputs:
    if dest.startswith("gs://"):
        from labelexport import gcs

        return gcs.GcsFolder.from_uri(dest)
    return LocalFolder(dest)


def is_export_set(uri: str) -> bool:
    """An export set is a .json object (an export file is .csv or .jsonl)."""
    return uri.lower().endswith(".json")


def read_export_set(uri: str) -> tuple[ExportSet, str | None]:
    """The set at `uri` (local or gs://) and its generation."""
    if uri.startswith("gs://"):
        from labelexport import gcs

        with gcs.open_object(uri) as (stream, blob):
            data, generation = stream.read(MAX_SET_BYTES + 1), str(blob.generation)
        return export_sets.parse(data, uri), generation
    path = local_file(uri)
    return export_sets.parse(path.read_bytes()[:MAX_SET_BYTES + 1], uri, local_files=True), None


def set_files(export_set: ExportSet, set_uri: str) -> list[SourceFile]:
    """The files of a set, each opened at the generation the set lists (a local file as it is;
    a relative path is taken from the set's folder)."""
    folder = Path(set_uri).parent if is_local(set_uri) else None

    def opener(uri: str, generation: int):
        if uri.startswith("gs://"):
            from labelexport import gcs

            @contextmanager
            def opened() -> Iterator[BinaryIO]:
                with gcs.open_object(uri, generation=generation or None) as (stream, _):
                    yield stream
            return opened
        path = folder / uri if folder is not None else Path(uri)
        return lambda: open(local_file(str(path)), "rb")

    return [SourceFile(f.uri, str(f.generation) if f.generation else None,
                       opener(f.uri, f.generation)) for f in export_set.files]
