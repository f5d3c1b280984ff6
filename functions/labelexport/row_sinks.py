"""Where the row loops put rows: one writer per split, and rejected.jsonl with its counts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from labelexport.router import Router


@dataclass
class RowSinks:
    writes: list[Callable[[str], object] | None]  # by split index; None: split not written
    rejected: TextIO
    router: Router
    file: str | None = None  # the file being read, when an export has several

    def reject(self, line: int, reason: str, detail: str, raw: str) -> None:
        record = {"line": line, "reason": reason, "detail": detail, "raw": raw}
        if self.file is not None:
            record["file"] = self.file
        self.router.reject(record)
        self.rejected.write(json.dumps(record) + "\n")
        # ASCII escapes: a raw row may hold U+2028 and the like, which some readers take for
        # line ends
