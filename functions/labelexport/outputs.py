"""Where split results go: the port the splitter writes through, and its local-folder adapter."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TextIO


class Outputs(ABC):
    """A destination of named text files. Files are visible only once closed by `commit`;
    the manifest is written last, on its own, as the commit point of a run."""

    @abstractmethod
    def uri(self, name: str) -> str: ...

    @abstractmethod
    def open(self, name: str) -> TextIO:
        """A UTF-8 text stream for `name`; newlines are written as given."""

    @abstractmethod
    def commit(self, name: str, stream: TextIO) -> None:
        """Close a stream from `open` and make its file visible."""

    @abstractmethod
    def abort(self, name: str, stream: TextIO) -> None:
        """Close a stream from `open` and discard what it held."""

    @abstractmethod
    def write_manifest(self, name: str, text: str) -> None: ...

    def size(self, name: str) -> int | None:
        """The bytes of a committed file, where the destination knows them."""
        return None


class LocalFolder(Outputs):
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def uri(self, name: str) -> str:
        return str(self.folder / name)

    def _partial(self, name: str) -> Path:
        return self.folder / f".{name}.partial"

    def open(self, name: str) -> TextIO:
        self.folder.mkdir(parents=True, exist_ok=True)
        return open(self._partial(name), "w", encoding="utf-8", newline="",
                    buffering=1 << 20)

    def commit(self, name: str, stream: TextIO) -> None:
        stream.close()
        os.replace(self._partial(name), self.folder / name)

    def abort(self, name: str, stream: TextIO) -> None:
        stream.close()
        self._partial(name).unlink(missing_ok=True)

    def write_manifest(self, name: str, text: str) -> None:
        stream = self.open(name)
        stream.write(text)
        self.commit(name, stream)

    def size(self, name: str) -> int | None:
        try:
            return (self.folder / name).stat().st_size
        except FileNotFoundError:
            return None


class _Sink:
    def write(self, text: str) -> int:
        return len(text)

    def close(self) -> None:
        pass


class Discard(Outputs):
    """For `validate`: everything is counted, nothing is written."""

    def uri(self, name: str) -> str:
        return name

    def open(self, name: str) -> TextIO:
        return _Sink()  # type: ignore[return-value]

    def commit(self, name: str, stream: TextIO) -> None:
        pass

    def abort(self, name: str, stream: TextIO) -> None:
        pass

    def write_manifest(self, name: str, text: str) -> None:
        pass
