"""Turn DataFrames into terminal tables, CSV, JSON or Markdown."""

from __future__ import annotations

import json
import math
import os
import re
import sys
import unicodedata
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .errors import CotermError
from .geo.io import atomic_write

FORMATS = ("table", "csv", "json", "markdown")
# Control characters in names (newlines, terminal escapes) would break a table or drive the terminal.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _safe_char(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cf":  # format controls: bidi overrides and isolates, zero-width marks, tags
        return "\ufffd"
    return " " if category in ("Zl", "Zp") else char


def printable(text: str) -> str:
    """``text`` safe for a terminal line: line breaks and tabs become spaces; other control characters
    and Unicode format controls (bidi overrides U+202A–U+202E and isolates U+2066–U+2069, zero-width
    characters, every category Cf character) become �, so a name cannot reorder or hide text."""
    text = CONTROL.sub(lambda m: " " if m.group() in "\t\n\r\x0b\x0c" else "\ufffd", text)
    return text if text.isascii() else "".join(_safe_char(c) for c in text)


# Digits a report keeps: 13 significant digits of the largest value in a column (or of a single
# value), enough for any count, area or share the data holds, and few enough that float noise from
# the order of a sum (1.1e-16 where 0.0 is meant) never reaches the bytes of a report.
SIGNIFICANT = 13


def stable(value: float, scale: float | None = None) -> float:
    """``value`` rounded to :data:`SIGNIFICANT` digits of ``scale`` (default: of itself), -0.0 made
    0.0: the same report gives the same bytes every run, whatever order its sums ran in."""
    if not math.isfinite(value) or value == 0:
        return 0.0 if value == 0 else value
    reference = abs(scale) if scale else abs(value)
    decimals = SIGNIFICANT - 1 - math.floor(math.log10(reference))
    return round(value, decimals) + 0.0


def stable_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every float column rounded by :func:`stable` against the column's largest value;
    a column of whole numbers that is not a share (people, counts of units) written as integers."""
    out = frame.copy()
    for i in range(out.shape[1]):
        values = out.iloc[:, i]
        if not pd.api.types.is_float_dtype(values):
            continue
        finite = np.abs(values.to_numpy(dtype=float, na_value=np.nan))
        finite = finite[np.isfinite(finite)]
        scale = float(finite.max()) if len(finite) else 0.0
        rounded = values.map(lambda v, s=scale: stable(v, s) if isinstance(v, float) else v)
        numbers = rounded.to_numpy(dtype=float, na_value=np.nan)
        known = numbers[~np.isnan(numbers)]
        whole = len(known) and np.isfinite(known).all() and (known == np.round(known)).all() \
            and np.abs(known).max() < 2**53 and not is_share(str(out.columns[i]))
        out.isetitem(i, rounded.astype("Int64") if whole else rounded)
    return out


def _plain(value):
    """A JSON-safe Python value (numpy scalars; NaN and ±infinity → null, which JSON can hold)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return stable(float(value)) if math.isfinite(value) else None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or value is pd.NA:
        return None
    return value


def is_share(column: str) -> bool:
    """Columns holding a fraction 0–1, shown as a percentage."""
    return ("share" in column or column.startswith(("a_in_b", "b_in_a")) or column.endswith("_pct")
            or column in ("fit", "score"))


def format_cell(value, column: str) -> str:
    """Human text for one cell: thousands separators, shares as percentages, km² to two places."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if is_share(column):
            return f"{100 * v:.1f}%"
        if column.endswith("_km2"):
            return f"{v:,.2f}"
        if v.is_integer() or abs(v) >= 100:
            return f"{v:,.0f}"
        return f"{v:.3g}"
    return printable(str(value))


def _numeric_columns(frame: pd.DataFrame) -> list[bool]:
    """Which columns hold numbers (right-aligned); by position, so repeated headers work."""
    return [pd.api.types.is_numeric_dtype(frame.iloc[:, i]) and not pd.api.types.is_bool_dtype(frame.iloc[:, i])
            for i in range(frame.shape[1])]


def render_table(frame: pd.DataFrame, max_width: int = 40) -> str:
    """A fixed-width text table for the terminal: numbers right-aligned, long text cut."""
    columns = list(frame.columns)
    rows = [[format_cell(v, c) for c, v in zip(columns, row)] for row in frame.itertuples(index=False, name=None)]
    rows = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in r] for r in rows]
    numeric = _numeric_columns(frame)
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]

    def line(cells: Iterable[str]) -> str:
        return "  ".join(
            (cell.rjust(w) if num else cell.ljust(w)) for cell, w, num in zip(cells, widths, numeric)
        ).rstrip()

    out = [line(columns), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def _md_text(text: str) -> str:
    """Markdown-safe text, one line: no raw HTML (``<script>`` shows as text) and no link or image syntax
    (``[x](javascript:…)``, ``![](http://…)`` show as text: brackets and backslashes are escaped)."""
    text = printable(text).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return text.replace("<", "&lt;").replace(">", "&gt;")


# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with text cells that a spreadsheet would run as a formula prefixed by ``'``."""
    out = frame.copy()
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        out.isetitem(i, column.map(lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v))
    return out


def render_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table with the same human cells as the terminal table."""
    columns = list(frame.columns)

    def esc(text: str) -> str:
        return _md_text(text).replace("|", "\\|")

    numeric = _numeric_columns(frame)
    out = ["| " + " | ".join(esc(c) for c in columns) + " |",
           "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    for row in frame.itertuples(index=False, name=None):
        out.append("| " + " | ".join(esc(format_cell(v, c)) for c, v in zip(columns, row)) + " |")
    return "\n".join(out)


def render(frame: pd.DataFrame, fmt: str, *, header: list[str] | None = None,
           footer: list[str] | None = None, meta: dict | None = None, safe_csv: bool = False) -> str:
    """Render a report: header lines, the table, footer lines, in one of :data:`FORMATS`.

    CSV carries only the table (stable for scripts; ``safe_csv`` prefixes formula-like text with
    ``'``); JSON carries ``meta`` and ``rows``; the table and Markdown forms carry the header and
    footer as text.
    """
    header = header or []
    footer = footer or []
    if fmt in ("csv", "json"):
        frame = stable_frame(frame)
    if fmt == "csv":
        return (csv_safe(frame) if safe_csv else frame).to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        rows = [{c: _plain(v) for c, v in zip(frame.columns, row)} for row in frame.itertuples(index=False, name=None)]
        doc = {"meta": {k: _plain(v) for k, v in (meta or {}).items()}, "rows": rows}
        return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if fmt == "markdown":
        parts = [f"- {_md_text(h)}" for h in header] + ([""] if header else []) + [render_markdown(frame)]
        if footer:
            parts += [""] + [f"- {_md_text(f)}" for f in footer]
        return "\n".join(parts) + "\n"
    if fmt == "table":
        parts = [printable(h) for h in header] + ([""] if header else []) + [render_table(frame)]
        if footer:
            parts += [""] + [printable(f) for f in footer]
        return "\n".join(parts) + "\n"
    raise CotermError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def emit(text: str, output: str | os.PathLike | None) -> None:
    """Print to stdout, or write the whole text atomically to ``output``."""
    if output:
        atomic_write(output, text)
        print(printable(f"wrote {output}"), file=sys.stderr)
    else:
        sys.stdout.write(text)
