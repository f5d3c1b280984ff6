"""The JSONL fast path agrees with each format's check: a line the typed decoder vouches for is
one the check accepts, with the same item, ML use and labels; and real lines take the fast path.

Lines are real ones (the local stack's samples, Google's documented examples, Examples printed
by Google's own classes) and those lines mutated at random: keys renamed to snake_case, dropped,
nulled or added, values replaced by strings, booleans, out-of-range or empty ones.
"""

from __future__ import annotations

import json

import pytest
from google_examples import PRINTERS, google_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from labelexport import formats, proto_json
from labelexport.formats.typed import FALLBACK
from labelexport.rejects import RowError
from test_vertex_formats import DOCUMENTED, EXPORTED

from devstack import sample_exports, vertex_samples

TYPED = [f for f in formats.FORMATS if f.jsonl_typed is not None]
KEYS = ("displayName", "xMin", "yMax", "imageGcsUri", "textContent", "textGcsUri",
        "dataItemResourceLabels", "classificationAnnotation", "timeSegments", "annotationSpec",
        "normalizedVertices", "boundingPoly", "vertices", "mlUse", "name", "imageUri",
        "annotationValue", "imagePolylineAnnotation", "TemporalBoundingBoxAnnotations")
VALUES = (None, "", "0.5", "x", True, False, 0, 1, -1, 2.5, 0.25, [], {}, "gs://b/o.jpg",
          "training", "test", "holdout", {"aiplatform.googleapis.com/ml_use": "test"})


def _has_snake_case_key(node) -> bool:
    if isinstance(node, list):
        return any(map(_has_snake_case_key, node))
    if not isinstance(node, dict):
        return False
    return any("_" in key or (not key.endswith("ResourceLabels") and _has_snake_case_key(value))
               for key, value in node.items())


def _real_lines(fmt: formats.Format, camel_case_only: bool = True) -> list[str]:
    if fmt.family == formats.VERTEX:
        export = vertex_samples.render_export(vertex_samples.sample_for(fmt.name))
        lines = [line for lines in export.files.values() for line in lines[:6]] + \
            DOCUMENTED.get(fmt.name, []) + EXPORTED.get(fmt.name, [])
        return [line for line in lines
                if not camel_case_only or not _has_snake_case_key(json.loads(line))]
    sample = next(s for s in sample_exports.CATALOG
                  if s.annotation_type == fmt.name and not s.dirty)
    rendered = sample_exports.render_export(sample, "demo-project", "jsonl")
    printed = [print_(e.example) for e in google_examples()
               if e.annotation_type == fmt.name and e.form != "pixel"
               for name, print_ in PRINTERS.items()
               if not camel_case_only or "proto-names" not in name]
    return rendered.data.decode().splitlines()[:8] + printed


def _outcome_of_check(fmt: formats.Format, line: str):
    try:
        parsed = json.loads(line)
    except (ValueError, RecursionError):
        return "invalid"
    try:
        return fmt.jsonl(parsed)
    except RowError as error:
        return error.reason


@pytest.mark.parametrize("fmt", TYPED, ids=[f.name for f in TYPED])
def test_real_lines_take_the_fast_path_and_agree(fmt):
    lines = _real_lines(fmt)
    assert lines
    for line in lines:
        assert fmt.jsonl_typed(line) == _outcome_of_check(fmt, line), line


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for k, value in enumerate(node):
            yield from _paths(value, (*prefix, k))


def _mutate(data, tree):
    paths = list(_paths(tree))
    path = data.draw(st.sampled_from(paths))
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    action = data.draw(st.sampled_from(["value", "snake", "drop", "add", "duplicate"]))
    if not path:
        return tree if action != "value" else data.draw(st.sampled_from(VALUES))
    last = path[-1]
    if action == "value":
        parent[last] = data.draw(st.sampled_from(VALUES))
    elif isinstance(parent, dict) and action == "snake":
        parent[proto_json.snake(last)] = parent.pop(last)
    elif isinstance(parent, dict) and action == "drop":
        parent.pop(last)
    elif isinstance(parent, list) and action == "drop":
        parent.pop(last)
    elif action == "add":
        target = parent[last]
        if isinstance(target, dict):
            target[data.draw(st.sampled_from(KEYS))] = data.draw(st.sampled_from(VALUES))
        elif isinstance(target, list) and target:
            target.append(json.loads(json.dumps(target[0])))
    elif action == "duplicate" and isinstance(parent, dict):
        parent[last + "_"] = parent[last]
    return tree


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_line_the_fast_path_vouches_for_is_one_the_check_accepts(data):
    fmt = data.draw(st.sampled_from(TYPED))
    tree = json.loads(data.draw(st.sampled_from(_real_lines(fmt, camel_case_only=False))))
    for _ in range(data.draw(st.integers(1, 3))):
        tree = _mutate(data, tree)
    line = json.dumps(tree)
    try:
        fast = fmt.jsonl_typed(line)
    except FALLBACK:
        return  # the check judges it, as the row loop does
    assert fast == _outcome_of_check(fmt, line), line
