"""Numbers and Durations: the validator refuses as bad_number what Google's own parser
(json_format.Parse into the v1beta1 Example, unknown fields refused) refuses, and accepts what it
accepts, case by case. Where the validator is deliberately stricter, the case says so."""

import json

import pytest
from google.protobuf import json_format
from google_examples import PRINTERS, google_examples, parse_example
from splitting import run_split

_PLACEHOLDER = "@VALUE@"
_BASES = {e.id: e for e in google_examples()}

# Where a case's value goes: (Google-built example, path inside its first annotation's value).
END_TIME = ("VIDEO_EVENT_ANNOTATION-segment", ("timeSegment", "endTimeOffset"))  # start 123s
START_TIME = ("VIDEO_EVENT_ANNOTATION-segment", ("timeSegment", "startTimeOffset"))  # end 150.04s
FRAME_TIME = ("VIDEO_OBJECT_TRACKING_ANNOTATION-pixel", ("objectTrackingFrames", 1, "timeOffset"))
ENTITY_END = ("TEXT_ENTITY_EXTRACTION_ANNOTATION-spans", ("sequentialSegment", "end"))  # start 0
PIXEL_X = ("IMAGE_BOUNDING_BOX_ANNOTATION-pixel", ("boundingPoly", "vertices", 0, "x"))  # x2 320
NORMALIZED_Y = ("IMAGE_BOUNDING_BOX_ANNOTATION-normalized",
                ("normalizedBoundingPoly", "normalizedVertices", 1, "y"))  # y1 0.25

# (where, the value as JSON text, what the validator does: "accepted", "bad_number", or the
# reason it refuses a value Google parses but that cannot be right for its meaning)
CASES = [
    (END_TIME, '"150s"', "accepted"),
    (END_TIME, '"150.5s"', "accepted"),
    (END_TIME, '"150.123456789s"', "accepted"),
    (END_TIME, '"000150s"', "accepted"),
    (END_TIME, '"315576000000s"', "accepted"),
    (END_TIME, '"315576000000.999999999s"', "accepted"),
    (END_TIME, '"infs"', "bad_number"),
    (END_TIME, '"nans"', "bad_number"),
    (END_TIME, '"1e3s"', "bad_number"),
    (END_TIME, '"0.5e3s"', "bad_number"),
    (END_TIME, '".5s"', "bad_number"),
    (END_TIME, '"150"', "bad_number"),
    (END_TIME, "150", "bad_number"),
    (END_TIME, '"s"', "bad_number"),
    (END_TIME, '"150ms"', "bad_number"),
    (END_TIME, '"315576000001s"', "bad_number"),
    (END_TIME, '{"seconds": 150}', "accepted"),  # the guide's form; see GUIDE_ONLY below
    (START_TIME, '"-1.5s"', "bad_time_segment"),
    (START_TIME, '"-315576000001s"', "bad_number"),
    (FRAME_TIME, '"0.040s"', "accepted"),
    (FRAME_TIME, '"-0.5s"', "bad_time_segment"),
    (FRAME_TIME, '"1e1s"', "bad_number"),
    (ENTITY_END, "11", "accepted"),
    (ENTITY_END, '"11"', "accepted"),
    (ENTITY_END, "11.0", "accepted"),
    (ENTITY_END, "1.1e1", "accepted"),
    (ENTITY_END, '"1.1e1"', "accepted"),
    (ENTITY_END, '"+11"', "accepted"),
    (ENTITY_END, '"11."', "accepted"),
    (ENTITY_END, "3.5", "bad_number"),
    (ENTITY_END, '"3.5"', "bad_number"),
    (ENTITY_END, "true", "bad_number"),
    (ENTITY_END, '"0x10"', "bad_number"),
    (ENTITY_END, '"inf"', "bad_number"),
    (ENTITY_END, '"Infinity"', "bad_number"),
    (ENTITY_END, "1e400", "bad_number"),
    (ENTITY_END, '" 11"', "bad_number"),
    (ENTITY_END, '"."', "bad_number"),
    (ENTITY_END, '"eleven"', "bad_number"),
    (ENTITY_END, "[11]", "bad_number"),
    (ENTITY_END, "2147483648", "bad_number"),
    (ENTITY_END, '"2147483648"', "bad_number"),
    (ENTITY_END, "-2147483649", "bad_number"),
    (ENTITY_END, "2147483647", "offset_out_of_range"),  # an int32, but past the text's end
    (ENTITY_END, "-2147483648", "offset_out_of_range"),
    (PIXEL_X, "10", "accepted"),
    (PIXEL_X, '"10"', "accepted"),
    (PIXEL_X, "10.0", "accepted"),
    (PIXEL_X, "1e1", "accepted"),
    (PIXEL_X, "10.5", "bad_number"),
    (PIXEL_X, '"10.5"', "bad_number"),
    (PIXEL_X, "false", "bad_number"),
    (PIXEL_X, "2147483648", "bad_number"),
    (PIXEL_X, "-1", "coordinate_out_of_range"),  # pixels are >= 0
    (PIXEL_X, "2147483647", "inverted_box"),  # right of the box's bottom-right x
    (NORMALIZED_Y, "0.75", "accepted"),
    (NORMALIZED_Y, '"0.75"', "accepted"),
    (NORMALIZED_Y, '"0.75x"', "bad_number"),
]

# Accepted although Google's parser refuses them: the export guide writes Durations as objects.
GUIDE_ONLY = {(END_TIME, '{"seconds": 150}')}

# Refused although Python's json_format accepts them: they are not the proto3 JSON form
# (`^-?\d+(\.\d{1,9})?s$` for a Duration, a number for a number); Python's parser is laxer
# than the form because it hands the value to int() and float().
STRICTER = [
    (END_TIME, '"+150s"'),
    (END_TIME, '" 150s"'),
    (END_TIME, '"150.s"'),
    (END_TIME, '"150.5 s"'),
    (END_TIME, '"1_50s"'),
    (END_TIME, '"150.1234567891s"'),  # ten fractional digits: finer than a nanosecond
    (ENTITY_END, '"1_1"'),
    (ENTITY_END, '"\\t11"'),
    (NORMALIZED_Y, "true"),  # Python's float(True) is 1.0; for an int field it refuses a bool
]


def _line(where: tuple[str, tuple], value: str) -> tuple[str, str]:
    """(annotation type, the base example's line with `value` at the case's path)."""
    base_id, path = where
    base = _BASES[base_id]
    example = json.loads(PRINTERS["MessageToJson"](base.example))
    target = next(iter(example["annotations"][0]["annotationValue"].values()))
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = _PLACEHOLDER
    return base.annotation_type, json.dumps(example).replace(f'"{_PLACEHOLDER}"', value)


def _validator_says(tmp_path, annotation_type: str, line: str) -> str:
    run = run_split(tmp_path, line + "\n", annotation_type=annotation_type)
    reasons = run.reasons()
    return reasons[0] if reasons else "accepted"


def _google_parses(line: str) -> bool:
    try:
        parse_example(line)
    except json_format.ParseError:
        return False
    return True


@pytest.mark.parametrize(("where", "value", "expected"), CASES,
                         ids=[f"{w[1][-1]}={v}" for w, v, _ in CASES])
def test_validator_and_googles_parser_agree(tmp_path, where, value, expected):
    annotation_type, line = _line(where, value)
    assert _validator_says(tmp_path, annotation_type, line) == expected
    google_expected = expected != "bad_number" and (where, value) not in GUIDE_ONLY
    assert _google_parses(line) == google_expected


@pytest.mark.parametrize(("where", "value"), STRICTER, ids=[v for _, v in STRICTER])
def test_validator_is_stricter_than_pythons_parser_on_non_canonical_text(tmp_path, where,
                                                                          value):
    annotation_type, line = _line(where, value)
    assert _validator_says(tmp_path, annotation_type, line) == "bad_number"
    assert _google_parses(line)


def test_every_case_is_a_real_line_of_its_type():
    """The bases are valid as printed, so each case tests only its own value."""
    for where in {w for w, _, _ in CASES}:
        base = _BASES[where[0]]
        line = PRINTERS["MessageToJson"](base.example)
        assert _google_parses(line)
