"""report.html: what a person looks at to judge a split, made from its manifest alone.

One self-contained file (inline CSS and SVG; no script, font or anything fetched), written
beside the split files before the manifest that links it. Rendering is a pure function of the
manifest, which holds the counts and the first rejected rows: the same manifest gives the same
bytes, so a redelivered split writes the very same report.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from labelexport.manifest import REPORT_NAME
from labelexport.outputs import Outputs
from labelexport.split_warnings import describe

if TYPE_CHECKING:
    import jinja2

TEMPLATE = "report.html.j2"
TOP_LABELS = 25  # label rows drawn; the rest are summed in one "others" row
SHOWN_WARNINGS = 50
SHOWN_REJECTED = 10
# Geometry of the charts, in CSS pixels.
BAR_WIDTH = 300
SPLIT_ROW = 34
LABEL_ROW = 24
# Okabe-Ito colours, told apart by colour-blind readers; each split also has its own fill
# pattern (for greyscale) and every bar carries its name and numbers as text.
SPLIT_STYLES = {
    "train": {"colour": "#0072B2", "fill": "url(#fill-train)"},
    "validation": {"colour": "#E69F00", "fill": "url(#fill-validation)"},
    "test": {"colour": "#009E73", "fill": "url(#fill-test)"},
    "unassigned": {"colour": "#C8C8C8", "fill": "url(#fill-unassigned)"},
}


def _number(value: int) -> str:
    return f"{value:,}"


def _size(value: int | None) -> str:
    if value is None:
        return "–"
    if value < 1000:
        return f"{value} B"
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{value:,.1f} {unit}"
    raise AssertionError("unreachable")


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _time(value: str | None) -> str:
    """An RFC 3339 time as people read it: 2026-11-24 13:05:07 UTC."""
    if not value:
        return "not recorded"
    date, _, rest = value.partition("T")
    clock = rest[:8]
    zone = " UTC" if rest.endswith(("Z", "+00:00")) else rest[8:].lstrip("0123456789.")
    return f"{date} {clock}{zone}".strip()


def split_bars(manifest: dict) -> list[dict]:
    """One bar per split: items (the bar), rows, and the share of all items."""
    splits = manifest["splits"]
    total = sum(split["items"] for split in splits.values())
    widest = max((split["items"] for split in splits.values()), default=0)
    bars = []
    for index, (name, split) in enumerate(splits.items()):
        width = round(BAR_WIDTH * split["items"] / widest, 1) if widest else 0
        bars.append({
            "name": name, "y": index * SPLIT_ROW, "width": width,
            "item_count": _number(split["items"]), "rows": _number(split["rows"]),
            "share": _percent(split["items"], total), **SPLIT_STYLES[name]})
    return bars


def label_rows(manifest: dict, top: int = TOP_LABELS) -> dict:
    """The per-label chart: the `top` labels by total count (then by name), each a stacked bar
    of its count per split, and one row summing the others."""
    names = list(manifest["splits"])
    totals: dict[str, int] = {}
    for split in manifest["splits"].values():
        for label, count in split["labels"].items():
            totals[label] = totals.get(label, 0) + count
    ranked = sorted(totals, key=lambda label: (-totals[label], label))
    shown, rest = ranked[:top], ranked[top:]
    widest = max((totals[label] for label in shown), default=0)
    rows = []
    for index, label in enumerate(shown):
        x, segments = 0.0, []
        for name in names:
            count = manifest["splits"][name]["labels"].get(label, 0)
            width = round(BAR_WIDTH * count / widest, 1) if widest else 0
            if width:
                segments.append({"split": name, "x": x, "width": width,
                                 **SPLIT_STYLES[name]})
            x += width
        rows.append({"label": label, "short": label if len(label) <= 26 else label[:25] + "…",
                     "y": index * LABEL_ROW, "segments": segments,
                     "counts": [_counted(manifest, name, label) for name in names],
                     "total": _number(totals[label])})
    others = None
    if rest:
        others = {"labels": _number(len(rest)), "y": len(shown) * LABEL_ROW,
                  "counts": [_number(sum(manifest["splits"][name]["labels"].get(label, 0)
                                         for label in rest)) for name in names],
                  "total": _number(sum(totals[label] for label in rest))}
    return {"splits": names, "rows": rows, "others": others, "count": len(ranked),
            "height": (len(shown) + (1 if rest else 0)) * LABEL_ROW}


def _counted(manifest: dict, split: str, label: str) -> dict:
    count = manifest["splits"][split]["labels"].get(label, 0)
    return {"text": _number(count), "zero": count == 0}


def _files(manifest: dict) -> list[dict]:
    files = [{"name": name, "uri": split["uri"], "rows": _number(split["rows"]),
              "item_count": _number(split["items"]), "size": _size(split.get("bytes"))}
             for name, split in manifest["splits"].items()]
    rejected = manifest["rejected"]
    files.append({"name": "rejected", "uri": rejected["uri"], "rows": _number(rejected["rows"]),
                  "item_count": "", "size": _size(rejected.get("bytes"))})
    return files


TYPE_ORIGINS = {"option": "given", "run_record": "from the run record",
                "object_metadata": "from the export object's metadata",
                "inferred": "inferred from the rows"}


def _file_name(uri: str) -> str:
    return uri.rsplit("/", 1)[-1]


def prepare() -> None:
    """Import and compile what rendering a report takes (it is done once a process)."""
    _template()


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    import jinja2  # when a report is first written: off `labelexport validate`'s start

    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True,
                                     keep_trailing_newline=True)
    environment.filters["number"] = _number
    environment.filters["file_name"] = _file_name
    text = resources.files("labelexport").joinpath(TEMPLATE).read_text(encoding="utf-8")
    return environment.from_string(text)


def render_report(manifest: dict) -> str:
    """The report of a split manifest, as HTML text."""
    rows = manifest["rows"]
    rejected = manifest["rejected"]
    warnings = manifest.get("warnings", [])
    first = rejected.get("first", [])
    return _template().render(
        manifest=manifest,
        source=manifest["source"],
        policy=manifest["policy"],
        time=_time(manifest["source"].get("time")),
        type_origin=TYPE_ORIGINS.get(manifest["source"]["annotationTypeSource"],
                                     manifest["source"]["annotationTypeSource"]),
        rows={key: _number(value) for key, value in rows.items()},
        rejected_share=_percent(rows["rejected"], rows["read"]),
        split_bars=split_bars(manifest),
        split_chart_height=len(manifest["splits"]) * SPLIT_ROW,
        labels=label_rows(manifest),
        styles=SPLIT_STYLES,
        bar_width=BAR_WIDTH,
        warnings=[{"code": w["code"], "text": describe(w)} for w in warnings[:SHOWN_WARNINGS]],
        more_warnings=max(0, len(warnings) - SHOWN_WARNINGS),
        warning_codes=sorted(Counter(w["code"] for w in warnings).items(),
                             key=lambda item: (-item[1], item[0])),
        reasons=sorted(rejected["reasons"].items(), key=lambda item: (-item[1], item[0])),
        first_rejected=first[:SHOWN_REJECTED],
        more_rejected=max(0, rejected["rows"] - min(len(first), SHOWN_REJECTED)),
        files=_files(manifest),
    )


def write_report(outputs: Outputs, manifest: dict) -> None:
    """Write report.html through `outputs`, as the split files are written (same rules)."""
    stream = outputs.open(REPORT_NAME)
    try:
        stream.write(render_report(manifest))
    except BaseException:
        outputs.abort(REPORT_NAME, stream)
        raise
    outputs.commit(REPORT_NAME, stream)
