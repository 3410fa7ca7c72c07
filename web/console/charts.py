"""Bar charts as geometry for inline SVG drawn server-side (no script, no style attributes: the CSP holds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    text: str  # the value as shown


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    peak: float
    horizontal: bool
    title: str

    @property
    def empty(self) -> bool:
        return not any(bar.value for bar in self.bars)


WIDTH = 480  # drawn at about this many pixels in the page's two columns, so text keeps its size
MARGIN = 20  # room for the first and last labels


def columns(title: str, items: Sequence[tuple[str, float]], width: int = WIDTH, height: int = 200) -> Chart:
    """Vertical bars left to right (e.g. one per day); room at the bottom for labels."""
    peak = max((value for _, value in items), default=0) or 1
    plot = height - 44
    step = (width - 2 * MARGIN) / max(len(items), 1)
    bars = []
    for i, (label, value) in enumerate(items):
        h = plot * value / peak
        bars.append(Bar(label, value, MARGIN + i * step + step * 0.15, 20 + plot - h, step * 0.7, h, _shown(value)))
    return Chart(width, height, bars, peak, False, title)


def rows(title: str, items: Sequence[tuple[str, float]], width: int = WIDTH, row: int = 30) -> Chart:
    """Horizontal bars top to bottom (e.g. procedures); labels on the left."""
    peak = max((value for _, value in items), default=0) or 1
    left, right = width * 0.5, 40
    plot = width - left - right
    bars = [
        Bar(label, value, left, i * row + 4, plot * value / peak, row - 8, _shown(value))
        for i, (label, value) in enumerate(items)
    ]
    return Chart(width, max(len(items), 1) * row, bars, peak, True, title)


def _shown(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
