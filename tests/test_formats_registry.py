"""The format registry: one definition per annotation format, asked by everything else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from labelexport import formats
from labelexport.datalabeling import export_extension, output_config_for

PACKAGE = Path(__file__).resolve().parent.parent / "functions" / "labelexport"
# A format's name as code would spell it: a Data Labeling AnnotationType enum name, or any
# registered name in quotes.
_FORMAT_NAME = re.compile(r"\b[A-Z]+(?:_[A-Z]+)*_ANNOTATION\b|[\"'](?:"
                          + "|".join(re.escape(n) for n in formats.NAMES) + r")[\"']")


def test_names_are_unique_and_each_format_has_a_file_format():
    names = [f.name for f in formats.FORMATS]
    assert len(names) == len(set(names))
    for fmt in formats.FORMATS:
        assert fmt.file_formats, fmt.name
        assert fmt.media in ("image", "video", "text")
        assert fmt.family in (formats.DATALABELING, formats.VERTEX)


@pytest.mark.parametrize("spelling", ["IMAGE_BOUNDING_BOX_ANNOTATION",
                                      "image_bounding_box_annotation",
                                      "  Image_Bounding_Box_Annotation "])
def test_lookup_takes_any_case(spelling):
    assert formats.lookup(spelling).name == "IMAGE_BOUNDING_BOX_ANNOTATION"


def test_an_unknown_name_is_refused_with_the_accepted_ones():
    with pytest.raises(ValueError, match="IMAGE_CLASSIFICATION_ANNOTATION"):
        formats.lookup("BOXES")
    assert formats.find("BOXES") is None
    assert formats.find(None) is None


def test_a_format_has_a_decoder_only_for_its_file_formats():
    segmentation = formats.lookup("IMAGE_SEGMENTATION_ANNOTATION")
    assert segmentation.file_formats == ("jsonl",)
    formats.decoder(segmentation, "jsonl")
    with pytest.raises(ValueError, match="no CSV form"):
        formats.decoder(segmentation, "csv")


def test_the_export_request_follows_the_registry():
    assert export_extension("TEXT_ENTITY_EXTRACTION_ANNOTATION", "csv") == "jsonl"
    assert export_extension("IMAGE_BOUNDING_BOX_ANNOTATION", "csv") == "csv"
    folder = output_config_for("IMAGE_SEGMENTATION_ANNOTATION", "jsonl", "b", "exports/x/")
    assert folder == {"gcsFolderDestination": {"outputFolderUri": "gs://b/exports/x/"}}
    file = output_config_for("VIDEO_EVENT_ANNOTATION", "csv", "b", "exports/x/")
    assert file["gcsDestination"]["outputUri"] == "gs://b/exports/x/export.csv"


def test_no_module_outside_the_registry_names_a_format():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "formats" in path.relative_to(PACKAGE).parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _FORMAT_NAME.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
