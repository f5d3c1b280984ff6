"""Typed decoding of JSON lines with msgspec: the fast path of a format's JSONL form.

A format's JSONL check reads any parsed line and names what is wrong with it. Beside it, a
format may give a typed decoder: msgspec structs that describe a well-formed line, in camelCase,
with numbers as numbers, plus a few lines of Python for what a type cannot say (a box's min
below its max). The typed decoder vouches only for lines it fully understands; on anything else
it raises one of FALLBACK and the line goes to the check, which gives the same answer for every
line both accept (tests/test_typed_lines.py compares them) and the precise error otherwise.

What makes a line "not understood": a type or range msgspec refuses, a field spelled in
snake_case (every struct made here has an UNSET-typed twin for each snake_case spelling, so a
present one is refused, even null), a key outside a oneof (`forbid_unknown_fields`), or
`NotTyped`. Numbers may be numeric strings, as Google's own examples write them (msgspec's
lax mode: it reads the plain decimal forms Python's float() reads, to the same value). A field
a line may leave out is `Optional` with the default UNSET, never None: lax mode reads the
string "null" as None, where the check sees a string.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

import msgspec

UNSET = msgspec.UNSET
Unit = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]  # a normalized coordinate
Label = Annotated[str, msgspec.Meta(min_length=1)]  # a display name
_CAMEL_PART = re.compile(r"([A-Z])")


class NotTyped(Exception):
    """The typed decoder does not vouch for this line: let the format's check judge it."""


# The errors that send a line to the check. RecursionError: msgspec's own depth limit.
FALLBACK = (msgspec.MsgspecError, NotTyped, RecursionError)


def struct(name: str, fields: list[tuple], *, forbid_unknown_fields: bool = False,
           refused: tuple[str, ...] = ()) -> type:
    """A msgspec Struct of `fields` ((name, type) or (name, type, default)), with an
    UNSET-typed twin for each snake_case spelling and for each key in `refused`; or, with
    `forbid_unknown_fields` (a oneof, where even a null beside the value is one key too many),
    refusing every other key."""
    names = {f[0] for f in fields}
    twins = []
    spellings = [] if forbid_unknown_fields else [
        _CAMEL_PART.sub(lambda m: "_" + m.group(1).lower(), f[0]) for f in fields]
    for spelling in spellings + list(refused):
        if spelling not in names:
            names.add(spelling)
            twins.append((spelling, msgspec.UnsetType, UNSET))
    return msgspec.defstruct(name, list(fields) + twins,
                             forbid_unknown_fields=forbid_unknown_fields)


def optional(kind: object) -> object:
    """The type of a field a line may leave out (default UNSET)."""
    return kind | msgspec.UnsetType


TypedDecode = Callable[[str], tuple[str, str, list[str]]]


def typed_decoder(line_type: type, extract: Callable[[Any], tuple[str, str, list[str]]]
                  ) -> TypedDecode:
    """line -> (item, ML-use text, labels) through `line_type`, then `extract` (which raises
    NotTyped for what the types cannot say)."""
    decode = msgspec.json.Decoder(line_type, strict=False).decode

    def typed(line: str) -> tuple[str, str, list[str]]:
        return extract(decode(line))

    return typed
