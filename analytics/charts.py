"""Draws the monthly spending chart as a phone-readable PNG (matplotlib, headless Agg backend)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analytics.money import format_inr
from analytics.periods import month_label
from analytics.private_files import open_private
from analytics.results import MonthlyReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

_BAR_COLOR = "#1f6feb"
_REST_COLOR = "#9aa4b2"
_TEXT_COLOR = "#1b1f24"


def _bars(report: MonthlyReport) -> list[tuple[str, float, str]]:
    """(label, amount, colour) per bar, the categories beyond the top ones summed as one grey bar."""
    bars = [(c.category.capitalize(), c.amount, _BAR_COLOR) for c in report.top_categories if c.amount > 0]
    rest = round(report.total_out - sum(amount for _, amount, _ in bars), 2)
    if rest >= 1:
        bars.append(("Everything else", rest, _REST_COLOR))
    return bars


def _pyplot() -> Any:
    """matplotlib.pyplot on the headless Agg backend, imported on first use (about 0.5 s): a verb or a
    process that never draws a chart never pays for it."""
    import matplotlib

    matplotlib.use("Agg")  # headless: the bot and CLI never have a display
    import matplotlib.pyplot as plt

    return plt


def build_spending_figure(report: MonthlyReport) -> Figure:
    """Horizontal bars, largest on top, each labelled with its rupee amount and share."""
    plt = _pyplot()
    bars = _bars(report)
    height = 2.4 + 0.62 * max(1, len(bars))
    fig, ax = plt.subplots(figsize=(7.2, height), dpi=110)
    fig.patch.set_facecolor("white")
    title = f"Spending in {month_label(report.month)}"
    fig.suptitle(title, x=0.04, ha="left", fontsize=17, fontweight="bold", color=_TEXT_COLOR, y=0.985)
    subtitle = (f"Out {format_inr(report.total_out, paise=False)}   ·   In {format_inr(report.total_in, paise=False)}"
                f"   ·   Net {format_inr(report.net_savings, paise=False, sign=True)}")
    fig.text(0.04, 1 - 0.95 / height, subtitle, ha="left", fontsize=12, color="#57606a")
    if not bars:
        ax.axis("off")
        ax.text(0.5, 0.5, "No spending this month", ha="center", va="center", fontsize=15, color="#57606a")
    else:
        labels = [label for label, _, _ in bars][::-1]
        amounts = [amount for _, amount, _ in bars][::-1]
        colours = [colour for _, _, colour in bars][::-1]
        positions = range(len(bars))
        ax.barh(positions, amounts, color=colours, height=0.62)
        ax.set_yticks(list(positions), labels, fontsize=13, color=_TEXT_COLOR)
        peak = max(amounts)
        total = report.total_out or sum(amounts)
        for y, amount in zip(positions, amounts, strict=True):
            share = f"{amount / total * 100:.0f}%" if total else ""
            ax.text(amount + peak * 0.02, y, f"{format_inr(amount, paise=False)}  {share}", va="center",
                    fontsize=12, color=_TEXT_COLOR)
        ax.set_xlim(0, peak * 1.55)
        ax.xaxis.set_visible(False)
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0)
    fig.subplots_adjust(left=0.24, right=0.97, top=1 - 1.45 / height, bottom=0.35 / height)
    return fig


def render_spending_chart(report: MonthlyReport, path: Path | str) -> Path:
    """Write the chart PNG to `path` (0600; new parent folders 0700: it shows a customer's spending)."""
    path = Path(path)
    fig = build_spending_figure(report)
    try:
        with open_private(path, "wb") as handle:
            fig.savefig(handle, format="png", facecolor="white")
    finally:
        _pyplot().close(fig)
    log.debug("wrote spending chart %s (%d bytes)", path, path.stat().st_size)
    return path
