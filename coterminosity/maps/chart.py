"""A small chart of a boundary history: councils split and people outside their council's main footprint."""

from __future__ import annotations

import io
from typing import Literal

from ..boundaries.history import History

ChartFormat = Literal["svg", "png"]


def history_chart(result: History, fmt: ChartFormat = "svg", *, width: float = 7.0, height: float = 3.6) -> str | bytes:
    """The history as a chart: councils split (bars, left axis) and people outside their council's main
    footprint (line, millions, right axis) per footprint vintage. An inline SVG string or PNG bytes."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"chart format {fmt!r}: use svg or png")
    import matplotlib  # lazily: only charts need it
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = result.table
    labels = [str(v) for v in table["vintage"]]
    x = list(range(len(labels)))
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9, "svg.hashsalt": "coterminosity"}):
        fig = Figure(figsize=(width, height))
        FigureCanvasAgg(fig)  # the Agg canvas: no display, no global pyplot state
        ax = fig.add_subplot()
        bars = ax.bar(x, table["councils_split"], color="#de77ae", label="councils split between footprints")
        ax.bar_label(bars, label_type="center", fontsize=8, color="black")
        ax.set_ylabel("councils split")
        ax.set_xticks(x, labels)
        ax.set_ylim(0, max(1, int(table["councils_split"].max())) * 1.25)
        right = ax.twinx()
        millions = table["people_outside"] / 1e6
        right.plot(x, millions, color="#2166ac", marker="o", label="people outside their council's main footprint")
        for xi, value in zip(x, millions):
            right.annotate(f"{value:.2f}M", (xi, value), textcoords="offset points", xytext=(0, 6), ha="center",
                           fontsize=8, color="#2166ac", bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                                              "ec": "none", "alpha": 0.85})
        right.set_ylabel("people outside main footprint (millions)")
        right.set_ylim(0, max(0.1, float(millions.max())) * 1.3)
        handles = [bars, right.get_lines()[0]]
        ax.legend(handles, [h.get_label() for h in handles], loc="upper right", fontsize=8, frameon=False)
        councils = ", ".join(dict.fromkeys(str(c) for c in table["councils"]))
        ax.set_title(f"Footprints {labels[0]}–{labels[-1]} against councils ({councils}), threshold "
                     f"{result.threshold:g}", fontsize=9)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata={"Date": None} if fmt == "svg" else None)
    data = buffer.getvalue()
    if fmt == "png":
        return data
    text = data.decode("utf-8")
    return text[text.index("<svg"):]  # inline: without the XML declaration and doctype
