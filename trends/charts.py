"""Charts as inline SVG, drawn on the server: no script, no CDN, nothing fetched by the page.

Two kinds, enough for the overview: bars (money per day, one chart per currency, since currencies
do not share a scale) and lines over time (the relay's backlog and the consumer's lag, in
messages). Every bar and point carries a `<title>` with its exact value; the text is escaped by
`format_html`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT = 640, 170
LEFT, RIGHT, TOP, BOTTOM = 70, 10, 12, 28  # the plot's margins: axis labels live there


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar (shown for some bars only when there are many)
    value: float
    title: str  # the exact value, on hover


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    points: Sequence[tuple[datetime, float | None]]  # None: no reading (a gap in the line)


def _svg(css_id: str, label: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg id="{}" class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" '
        'preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">{}</svg>',
        css_id,
        label,
        WIDTH,
        HEIGHT,
        body,
    )


def _axis(top_label: str) -> SafeString:
    bottom = HEIGHT - BOTTOM
    return format_html(
        '<line x1="{l}" y1="{t}" x2="{l}" y2="{b}" class="axis"/>'
        '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" class="axis"/>'
        '<text x="{lx}" y="{ty}" text-anchor="end" class="tick">{top}</text>'
        '<text x="{lx}" y="{b}" text-anchor="end" class="tick">0</text>',
        l=LEFT,
        t=TOP,
        b=bottom,
        r=WIDTH - RIGHT,
        lx=LEFT - 4,
        ty=TOP + 8,
        top=top_label,
    )


def bar_chart(bars: Sequence[Bar], *, css_id: str, label: str, top_label: str) -> SafeString:
    """Bars scaled to the largest; `top_label` names that largest value on the axis."""
    peak = max((bar.value for bar in bars), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(bars), 1)
    every = max(1, len(bars) // 7)  # at most about 7 labels under the bars

    def bar(index: int, item: Bar) -> tuple[object, ...]:
        height = round(plot_h * item.value / peak, 1)
        x = round(LEFT + index * slot + slot * 0.15, 1)
        return (x, round(TOP + plot_h - height, 1), round(slot * 0.7, 1), height, item.title)

    rects = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="bar"><title>{}</title></rect>',
        (bar(i, item) for i, item in enumerate(bars)),
    )
    labels = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle" class="tick">{}</text>',
        (
            (round(LEFT + i * slot + slot / 2, 1), HEIGHT - BOTTOM + 16, item.label)
            for i, item in enumerate(bars)
            if i % every == 0 or i == len(bars) - 1
        ),
    )
    return _svg(css_id, label, format_html("{}{}{}", _axis(top_label), rects, labels))


def line_chart(
    lines: Sequence[Line],
    *,
    start: datetime,
    end: datetime,
    css_id: str,
    label: str,
    time_labels: Sequence[str],
) -> SafeString:
    """Lines over [start, end]; a None value breaks its line. `time_labels` spread evenly under it."""
    peak = max((value for line in lines for _, value in line.points if value is not None), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max((end - start).total_seconds(), 1.0)

    def xy(at: datetime, value: float) -> str:
        x = LEFT + plot_w * min(max((at - start).total_seconds() / span, 0.0), 1.0)
        return f"{x:.1f},{TOP + plot_h - plot_h * value / peak:.1f}"

    drawn = []
    for line in lines:
        runs: list[list[str]] = [[]]
        for at, value in line.points:
            if value is None:
                runs.append([])
            else:
                runs[-1].append(xy(at, value))
        for run in runs:
            if len(run) == 1:
                x, y = run[0].split(",")
                drawn.append(format_html('<circle cx="{}" cy="{}" r="2" fill="{}"/>', x, y, line.colour))
            elif run:
                drawn.append(
                    format_html(
                        '<polyline points="{}" fill="none" stroke="{}" stroke-width="1.5" class="series">'
                        "<title>{}</title></polyline>",
                        " ".join(run),
                        line.colour,
                        line.name,
                    )
                )
    legend = format_html_join(
        "",
        '<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" class="tick">{}</text>',
        (
            (LEFT + 10 + i * 170, TOP, line.colour, LEFT + 24, TOP + 9, line.name)
            for i, line in enumerate(lines)
        ),
    )
    step = plot_w / max(len(time_labels) - 1, 1)
    ticks = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle" class="tick">{}</text>',
        ((round(LEFT + i * step, 1), HEIGHT - BOTTOM + 16, text) for i, text in enumerate(time_labels)),
    )
    body = format_html(
        "{}{}{}{}",
        _axis(f"{peak:,.0f}"),
        format_html_join("", "{}", ((item,) for item in drawn)),
        legend,
        ticks,
    )
    return _svg(css_id, label, body)
