"""JSON baselines: split JSON Lines by a key of each parsed line, with no validation.

The floor of a JSONL split that parses every line: each line is decoded, its data item read,
and the line appended to one of three files by a hash of the item, in input order.

* ``--parser json``: the standard library's ``json.loads`` into dicts.
* ``--parser msgspec``: msgspec decoding into typed structs of the line's schema (the Data
  Labeling ``Example`` with bounding-poly annotations, or the Vertex AI ``image_bounding_box``
  line), which type-checks every field it declares, as fast as Python reads JSON.

    python json_split.py SOURCE OUT_DIR --parser json|msgspec --schema datalabeling|vertex
"""

import argparse
import json
import os
import zlib

import msgspec


class Vertex(msgspec.Struct):
    x: float = 0.0
    y: float = 0.0


class Poly(msgspec.Struct):
    normalizedVertices: list[Vertex]


class Spec(msgspec.Struct):
    displayName: str


class PolyValue(msgspec.Struct):
    annotationSpec: Spec
    normalizedBoundingPoly: Poly


class Value(msgspec.Struct):
    imageBoundingPolyAnnotation: PolyValue


class Annotation(msgspec.Struct):
    annotationValue: Value


class Payload(msgspec.Struct):
    imageUri: str


class Example(msgspec.Struct):
    name: str
    imagePayload: Payload
    annotations: list[Annotation] = []


class Box(msgspec.Struct):
    displayName: str
    xMin: float = 0.0
    xMax: float = 0.0
    yMin: float = 0.0
    yMax: float = 0.0


class VertexLine(msgspec.Struct):
    imageGcsUri: str
    boundingBoxAnnotations: list[Box] = []
    dataItemResourceLabels: dict[str, str] = {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("out_dir")
    parser.add_argument("--parser", choices=["json", "msgspec"], required=True)
    parser.add_argument("--schema", choices=["datalabeling", "vertex"], required=True)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    vertex = args.schema == "vertex"
    if args.parser == "json":
        loads, key = json.loads, (lambda line: line["imageGcsUri"]) if vertex else \
            (lambda line: line["name"])
    else:
        loads = msgspec.json.Decoder(VertexLine if vertex else Example).decode
        key = (lambda line: line.imageGcsUri) if vertex else (lambda line: line.name)
    outs = [open(os.path.join(args.out_dir, f"{n}.jsonl"), "w", encoding="utf-8")
            for n in ("train", "validation", "test")]
    try:
        with open(args.source, encoding="utf-8") as source:
            for line in source:
                item = key(loads(line))
                outs[zlib.crc32(item.encode()) % 3].write(line)
    finally:
        for out in outs:
            out.close()


if __name__ == "__main__":
    main()
