"""Runs the core splitter on text in a temporary folder and reads back what it wrote."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from labelexport.config import SplitPolicy
from labelexport.outputs import LocalFolder
from labelexport.splitter import SplitJob, split_export


@dataclass
class SplitRun:
    manifest: dict
    folder: Path

    def text(self, name: str) -> str:
        return (self.folder / name).read_text(encoding="utf-8")

    def rows(self, split: str) -> list[str]:
        ext = self.manifest["source"]["format"]
        return self.text(f"{split}.{ext}").splitlines()

    def rejected(self) -> list[dict]:
        return [json.loads(line) for line in self.text("rejected.jsonl").splitlines()]

    def reasons(self) -> list[str]:
        return [r["reason"] for r in self.rejected()]


def run_split(folder: Path, data: str | bytes, *, policy: SplitPolicy | None = None,
              annotation_type: str | None = None, fmt: str | None = None) -> SplitRun:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    job = SplitJob(source_uri="test://export", policy=policy or SplitPolicy(),
                   format=fmt, annotation_type=annotation_type)
    manifest = split_export(io.BytesIO(raw), job, LocalFolder(folder))
    return SplitRun(manifest, folder)
