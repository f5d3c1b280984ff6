"""Deterministic generators of realistic Data Labeling exports for the split benchmark.

Two datasets, both image bounding boxes:

* CSV, one row per box (``ML_USE,gs://.../image_XXXXXXXX.jpg,label,x1,y1,,,x2,y2,,``): 1 to 6
  boxes per image on consecutive rows, the same ML_USE on every row of an image (mostly
  UNASSIGNED, some TRAIN / VALIDATION / TEST), ~400 labels, 4-decimal coordinates with
  x1 < x2 and y1 < y2 inside [0, 1].
* JSONL, one example per line in proto3 JSON (camelCase names, zero values omitted) with 1 to 6
  ``imageBoundingPolyAnnotation`` annotations.
* Vertex, one Vertex AI ``image_bounding_box`` line per image: ``imageGcsUri``, 1 to 6
  ``boundingBoxAnnotations`` naming their annotation set, the ML use (some lines) in
  ``dataItemResourceLabels``.

Output depends only on (size, seed): the work is cut into fixed chunks, each seeded from
(seed, chunk index), so the bytes do not depend on how many processes build them. Files are
cached under ``bench/out/data`` keyed by kind, size, seed and generator version.

    python bench/generate.py csv 1e6            # prints the path (and builds it if missing)
    python bench/generate.py jsonl 1e6 --seed 7
    python bench/generate.py vertex 1e6
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from multiprocessing import Pool
from pathlib import Path

GENERATOR_VERSION = 1
DEFAULT_SEED = 20240123
OUT_DIR = Path(__file__).resolve().parent / "out" / "data"

CHUNK_ROWS = 250_000  # CSV rows per chunk
CHUNK_EXAMPLES = 50_000  # JSONL lines per chunk
MAX_BOXES = 6

BUCKET_PREFIX = "gs://labelexport-bench-images/retail/shelves"
DATASET_NAME = "projects/labelexport-bench/datasets/6712954850034974720"
ANNOTATED_NAME = f"{DATASET_NAME}/annotatedDatasets/3051883471729532928"

_ADJECTIVES = (
    "red", "blue", "green", "black", "white", "small", "large", "open", "closed", "empty",
    "full", "damaged", "folded", "stacked", "front", "rear",
)
_NOUNS = (
    "car", "truck", "bicycle", "person", "dog", "cat", "bottle", "can", "box", "bag", "shelf",
    "price_tag", "cereal", "detergent", "shampoo", "coffee", "tea", "juice", "milk", "yogurt",
    "cheese", "bread", "apple", "banana", "tulip",
)
LABELS = tuple(f"{a}_{n}" for n in _NOUNS for a in _ADJECTIVES)  # 400 labels
assert len(LABELS) == 400

# ML_USE mix, drawn once per image: 70 % UNASSIGNED, 20 % TRAIN, 5 % VALIDATION, 5 % TEST.
_ML_USE_TABLE = ("UNASSIGNED",) * 14 + ("TRAIN",) * 4 + ("VALIDATION", "TEST")

# Coordinates are integers in [0, 10000] scaled by 1e-4: 4 decimals in CSV; the shortest
# form in JSON (as protobuf's JSON printer writes floats), with 0 omitted as proto3 does.
_CSV_COORD = tuple(f"{i / 10000:.4f}" for i in range(10001))
_JSON_COORD = tuple(_CSV_COORD[i].rstrip("0").rstrip(".") for i in range(10001))


def _box(r):
    """One box as integer coordinates, x1 < x2 and y1 < y2, at least 0.01 wide and high."""
    x1 = int(r() * 9000)
    x2 = x1 + 100 + int(r() * (9900 - x1))
    y1 = int(r() * 9000)
    y2 = y1 + 100 + int(r() * (9900 - y1))
    return x1, y1, x2, y2


def _csv_chunk(args: tuple[int, int, int, int]) -> tuple[bytes, int]:
    """Rows of chunk ``index`` (``rows`` of them); returns (data, number of images)."""
    seed, index, rows, max_boxes = args
    rng = random.Random((seed * 1_000_003 + index) * 1009 + max_boxes)
    r = rng.random
    labels, n_labels = LABELS, len(LABELS)
    mlu, n_mlu = _ML_USE_TABLE, len(_ML_USE_TABLE)
    c = _CSV_COORD
    image_id = index * CHUNK_ROWS  # images per chunk <= rows per chunk: ids never collide
    out: list[str] = []
    append = out.append
    left = rows
    images = 0
    while left > 0:
        n = min(1 + int(r() * max_boxes), left)
        prefix = f"{mlu[int(r() * n_mlu)]},{BUCKET_PREFIX}/image_{image_id:08d}.jpg,"
        for _ in range(n):
            x1, y1, x2, y2 = _box(r)
            append(f"{prefix}{labels[int(r() * n_labels)]},{c[x1]},{c[y1]},,,{c[x2]},{c[y2]},,\n")
        left -= n
        image_id += 1
        images += 1
    return "".join(out).encode("ascii"), images


def _vertex(x: int, y: int) -> str:
    j = _JSON_COORD
    if x and y:
        return f'{{"x":{j[x]},"y":{j[y]}}}'
    if x:
        return f'{{"x":{j[x]}}}'
    if y:
        return f'{{"y":{j[y]}}}'
    return "{}"


def _jsonl_chunk(args: tuple[int, int, int, int]) -> tuple[bytes, int]:
    """Lines of chunk ``index`` (``lines`` examples); returns (data, number of annotations)."""
    seed, index, lines, max_boxes = args
    rng = random.Random(seed * 1_000_003 + 500_009 + index)
    r = rng.random
    labels, n_labels = LABELS, len(LABELS)
    out: list[str] = []
    append = out.append
    annotations = 0
    first = index * CHUNK_EXAMPLES
    for k in range(lines):
        ex_id = f"{(first + k + 1) * 2654435761 % (1 << 40):012x}"  # unique, non-sequential
        ex_name = f"{ANNOTATED_NAME}/examples/{ex_id}"
        anns = []
        for a in range(1 + int(r() * max_boxes)):
            x1, y1, x2, y2 = _box(r)
            anns.append(
                f'{{"name":"{ex_name}/annotations/{ex_id}{a:02d}",'
                f'"annotationValue":{{"imageBoundingPolyAnnotation":{{'
                f'"annotationSpec":{{"displayName":"{labels[int(r() * n_labels)]}"}},'
                f'"normalizedBoundingPoly":{{"normalizedVertices":'
                f"[{_vertex(x1, y1)},{_vertex(x2, y2)}]}}}}}}}}"
            )
        annotations += len(anns)
        append(
            f'{{"name":"{ex_name}","imagePayload":{{"mimeType":"IMAGE_JPEG",'
            f'"imageUri":"{BUCKET_PREFIX}/image_{first + k:08d}.jpg"}},'
            f'"annotations":[{",".join(anns)}]}}\n'
        )
    return "".join(out).encode("ascii"), annotations


_VERTEX_ML_USE = {"TRAIN": "training", "VALIDATION": "validation", "TEST": "test"}


def _vertex_chunk(args: tuple[int, int, int, int]) -> tuple[bytes, int]:
    """Vertex AI lines of chunk ``index``; returns (data, number of annotations)."""
    seed, index, lines, max_boxes = args
    rng = random.Random(seed * 1_000_003 + 900_001 + index)
    r = rng.random
    labels, n_labels = LABELS, len(LABELS)
    mlu, n_mlu = _ML_USE_TABLE, len(_ML_USE_TABLE)
    j = _JSON_COORD
    out: list[str] = []
    annotations = 0
    first = index * CHUNK_EXAMPLES
    for k in range(lines):
        boxes = []
        for _ in range(1 + int(r() * max_boxes)):
            x1, y1, x2, y2 = _box(r)
            boxes.append(
                f'{{"displayName":"{labels[int(r() * n_labels)]}","xMin":{j[x1] or 0},'
                f'"xMax":{j[x2]},"yMin":{j[y1] or 0},"yMax":{j[y2]},"annotationResourceLabels":'
                '{"aiplatform.googleapis.com/annotation_set_name":"shelf-boxes"}}')
        annotations += len(boxes)
        use = _VERTEX_ML_USE.get(mlu[int(r() * n_mlu)])
        labels_part = (f',"dataItemResourceLabels":{{"aiplatform.googleapis.com/ml_use":"{use}"}}'
                       if use else "")
        out.append(f'{{"imageGcsUri":"{BUCKET_PREFIX}/image_{first + k:08d}.jpg",'
                   f'"boundingBoxAnnotations":[{",".join(boxes)}]{labels_part}}}\n')
    return "".join(out).encode("ascii"), annotations


_WORK = {"csv": (_csv_chunk, CHUNK_ROWS), "jsonl": (_jsonl_chunk, CHUNK_EXAMPLES),
         "vertex": (_vertex_chunk, CHUNK_EXAMPLES)}


def dataset_path(
    kind: str, size: int, seed: int = DEFAULT_SEED, max_boxes: int = MAX_BOXES
) -> Path:
    ext = {"csv": "csv", "jsonl": "jsonl", "vertex": "jsonl"}[kind]
    return OUT_DIR / f"boxes-{kind}-{size}-b{max_boxes}-s{seed}-v{GENERATOR_VERSION}.{ext}"


def ensure_dataset(
    kind: str, size: int, seed: int = DEFAULT_SEED, max_boxes: int = MAX_BOXES, log=None
) -> tuple[Path, dict]:
    """Build the dataset unless cached; return its path and metadata (rows, items, bytes...).

    ``size`` is CSV rows or JSONL lines; ``max_boxes`` the most boxes per image (CSV rows per
    image, JSONL annotations per example), drawn uniformly from 1..max_boxes.
    """
    path = dataset_path(kind, size, seed, max_boxes)
    meta_path = path.with_suffix(path.suffix + ".meta.json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("bytes") == path.stat().st_size:
            return path, meta
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    work, per_chunk = _WORK[kind]
    chunks = [
        (seed, i, min(per_chunk, size - start), max_boxes)
        for i, start in enumerate(range(0, size, per_chunk))
    ]
    counted = 0
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh, Pool(min(os.cpu_count() or 1, 4)) as pool:
        for data, n in pool.imap(work, chunks):
            fh.write(data)
            counted += n
    os.replace(tmp, path)
    elapsed = time.perf_counter() - t0
    if kind == "csv":
        meta = {"kind": kind, "rows": size, "items": counted}
    else:
        meta = {"kind": kind, "rows": size, "items": size, "annotations": counted}
    meta.update(
        bytes=path.stat().st_size,
        max_boxes=max_boxes,
        labels=len(LABELS),
        seed=seed,
        generator_version=GENERATOR_VERSION,
        generation_seconds=round(elapsed, 2),
    )
    meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    if log:
        log(f"generated {path.name}: {meta['bytes'] / 1e6:.0f} MB in {elapsed:.1f} s")
    return path, meta


def parse_size(text: str) -> int:
    value = float(text)
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"not a positive whole number: {text}")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(_WORK))
    parser.add_argument("size", type=parse_size, help="CSV rows or JSONL lines (1e6 is fine)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--max-boxes", type=int, default=MAX_BOXES, help="boxes per image: 1..N")
    args = parser.parse_args(argv)
    path, meta = ensure_dataset(
        args.kind, args.size, args.seed, args.max_boxes, log=lambda m: print(m, file=sys.stderr)
    )
    print(path)
    print(json.dumps(meta), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
