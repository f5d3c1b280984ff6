"""Checks of one CSV row's annotation fields, the building blocks of the CSV formats.

Each validator gets the row's fields and the index of the first field after the data item's URI,
and returns the row's labels (empty for a negative example) or raises RowError. Column numbers in
details are 1-based, as a spreadsheet shows them.
"""

from __future__ import annotations

import math

from labelexport import rejects
from labelexport.formats.format import CsvCheck
from labelexport.rejects import RowError

_BOX_FIELDS = 8  # four x,y corners; the second and fourth may be empty


def _number(fields: list[str], i: int, what: str) -> float:
    text = fields[i]
    try:
        value = float(text)
    except ValueError:
        raise RowError(rejects.BAD_NUMBER,
                       f"column {i + 1} ({what}) is not a number: {text!r}") from None
    if math.isnan(value):
        raise RowError(rejects.BAD_NUMBER, f"column {i + 1} ({what}) is not a number: {text!r}")
    return value


def _coordinate(fields: list[str], i: int, what: str) -> float:
    value = _number(fields, i, what)
    if not 0.0 <= value <= 1.0:
        raise RowError(rejects.COORDINATE_OUT_OF_RANGE,
                       f"column {i + 1} ({what}) is {fields[i]}, outside [0, 1]")
    return value


def _expect_fields(fields: list[str], expected: int, layout: str) -> None:
    if len(fields) != expected:
        raise RowError(rejects.FIELD_COUNT,
                       f"expected {expected} columns ({layout}), found {len(fields)}")


def _label(fields: list[str], i: int) -> str:
    label = fields[i]
    if not label:
        raise RowError(rejects.MISSING_LABEL, f"column {i + 1} (label) is empty")
    return label


def _negative(fields: list[str], start: int) -> bool:
    """A row with no annotation: nothing after the URI, or no more empty columns than the
    widest single-box layout has (11 in all)."""
    rest = fields[start:]
    return not rest or (len(rest) <= 1 + _BOX_FIELDS and not any(rest))


def _check_box(fields: list[str], i: int) -> None:
    """Corners at i..i+7: top-left, top-right, bottom-right, bottom-left; 2nd and 4th optional."""
    try:
        x1, y1 = float(fields[i]), float(fields[i + 1])
        x3, y3 = float(fields[i + 4]), float(fields[i + 5])
        ok = 0.0 <= x1 < x3 <= 1.0 and 0.0 <= y1 < y3 <= 1.0
    except ValueError:
        ok = False
    if not ok:  # find and name what is wrong, off the hot path
        for k, name in ((0, "top-left x"), (1, "top-left y"),
                        (4, "bottom-right x"), (5, "bottom-right y")):
            _coordinate(fields, i + k, name)
        raise RowError(rejects.INVERTED_BOX,
                       f"top-left ({fields[i]}, {fields[i + 1]}) is not above and left of "
                       f"bottom-right ({fields[i + 4]}, {fields[i + 5]})")
    for k, name in ((2, "top-right x"), (3, "top-right y"),
                    (6, "bottom-left x"), (7, "bottom-left y")):
        if fields[i + k]:
            _coordinate(fields, i + k, name)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def point_count(rest: list[str]) -> int | None:
    """Points in `x,y,,` groups (the last group's empty columns may be left off), or None if
    the fields are not in that form; for type inference."""
    points = rest + ["", ""] if len(rest) % 4 == 2 else rest
    if not points or len(points) % 4:
        return None
    for p in range(0, len(points), 4):
        x, y, gap1, gap2 = points[p:p + 4]
        if gap1 or gap2 or not is_number(x) or not is_number(y):
            return None
    return len(points) // 4


def labels_only(fields: list[str], start: int) -> list[str]:
    labels = fields[start:]
    while labels and not labels[-1]:
        labels.pop()
    for k, label in enumerate(labels):
        if not label:
            raise RowError(rejects.MISSING_LABEL, f"column {start + k + 1} (label) is empty")
    return labels


def bounding_box(fields: list[str], start: int) -> list[str]:
    # The common row (label, two corners, optional corners empty) is accepted here in one go;
    # anything else takes the slow path, which names what is wrong.
    if len(fields) == start + 9:
        if start == 2:  # after the ML use and the URI: unpacked in place, no copy
            _, _, label, x1, y1, tr_x, tr_y, x3, y3, bl_x, bl_y = fields
        else:
            label, x1, y1, tr_x, tr_y, x3, y3, bl_x, bl_y = fields[start:]
        if label and not (tr_x or tr_y or bl_x or bl_y):
            try:
                if 0.0 <= float(x1) < float(x3) <= 1.0 and 0.0 <= float(y1) < float(y3) <= 1.0:
                    return [label]
            except ValueError:
                pass
    if _negative(fields, start):
        return []
    _expect_fields(fields, start + 1 + _BOX_FIELDS, "label and four x,y corners")
    label = _label(fields, start)
    _check_box(fields, start + 1)
    return [label]


def vertices(minimum: int, exact: int | None = None) -> CsvCheck:
    """Polygon, oriented box, polyline: each x,y point followed by two empty columns."""

    def validate(fields: list[str], start: int) -> list[str]:
        if _negative(fields, start):
            return []
        label = _label(fields, start)
        first = start + 1
        points = fields[first:]
        if len(points) % 4 == 2:  # the last point's two empty columns may be left off
            points = points + ["", ""]
        if len(points) % 4:
            raise RowError(rejects.FIELD_COUNT,
                           f"expected x,y and two empty columns per point after the label, "
                           f"found {len(fields) - first} columns")
        count = len(points) // 4
        for p in range(count):
            i = first + 4 * p
            _coordinate(fields, i, f"point {p + 1} x")
            _coordinate(fields, i + 1, f"point {p + 1} y")
            if points[4 * p + 2] or points[4 * p + 3]:
                raise RowError(rejects.FIELD_COUNT,
                               f"columns {i + 3}-{i + 4} after point {p + 1} must be empty")
        if exact is not None and count != exact:
            raise RowError(rejects.TOO_FEW_VERTICES, f"{count} points; exactly {exact} are needed")
        if count < minimum:
            raise RowError(rejects.TOO_FEW_VERTICES,
                           f"{count} point(s); at least {minimum} are needed")
        return [label]

    return validate


def time_segment(fields: list[str], start: int) -> list[str]:
    _expect_fields(fields, start + 3, "label, start seconds, end seconds")
    label = _label(fields, start)
    begin = _number(fields, start + 1, "segment start")
    end = _number(fields, start + 2, "segment end")
    if begin < 0 or not math.isfinite(begin) or not begin < end:
        raise RowError(rejects.BAD_TIME_SEGMENT,
                       f"segment start {fields[start + 1]} must be >= 0 and before "
                       f"end {fields[start + 2]}")
    return [label]


def _timestamp(fields: list[str], i: int) -> None:
    value = _number(fields, i, "timestamp")
    if value < 0 or not math.isfinite(value):
        raise RowError(rejects.BAD_TIME_SEGMENT,
                       f"column {i + 1} (timestamp) must be a finite number of seconds >= 0")


def video_object_detection(fields: list[str], start: int) -> list[str]:
    _expect_fields(fields, start + 2 + _BOX_FIELDS, "label, timestamp and four x,y corners")
    label = _label(fields, start)
    _timestamp(fields, start + 1)
    _check_box(fields, start + 2)
    return [label]


def video_object_tracking(fields: list[str], start: int) -> list[str]:
    _expect_fields(fields, start + 3 + _BOX_FIELDS,
                   "label, instance id, timestamp and four x,y corners")
    label = _label(fields, start)  # the instance id (next column) may be empty
    _timestamp(fields, start + 2)
    _check_box(fields, start + 3)
    return [label]
