"""Plotly charts of the staff dashboard, as HTML fragments that expect plotly.js on the page.

Pure: no Django imports. The page loads plotly.js once from the installed plotly package (no CDN:
the servers have no internet), so each fragment is only a div and a small script.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import plotly.io as pio

from monitoring.drift import DriftResult

_STATUS_COLOUR = {"ok": "#1a7f37", "warn": "#9a6700", "alert": "#cf222e"}
_CONFIG = {"displaylogo": False, "responsive": True}


def _html(figure: go.Figure, div_id: str) -> str:
    return str(pio.to_html(figure, full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG))


def drift_chart(result: DriftResult, *, div_id: str = "drift-chart") -> str:
    """PSI per feature (bars coloured by status), the sample-size-aware noise limit (diamonds) and
    the fixed 0.1 / 0.25 lines. PSI is on a log axis: values span 1e-4 to several units."""
    features = sorted(result.features, key=lambda f: f.psi)
    names = [f.name for f in features]
    floor = 1e-4
    figure = go.Figure()
    figure.add_bar(
        x=[max(f.psi, floor) for f in features],
        y=names,
        orientation="h",
        marker_color=[_STATUS_COLOUR[f.status.value] for f in features],
        name="PSI",
        customdata=[[f.psi, f.ks_statistic, f.n_current, f.status.value] for f in features],
        hovertemplate="%{y}<br>PSI %{customdata[0]:.4f}<br>KS %{customdata[1]:.3f}<br>rows %{customdata[2]}"
        "<br>%{customdata[3]}<extra></extra>",
    )
    critical = [(f.name, f.psi_critical) for f in features if math.isfinite(f.psi_critical)]
    figure.add_scatter(
        x=[max(c, floor) for _, c in critical],
        y=[n for n, _ in critical],
        mode="markers",
        marker={"symbol": "diamond", "color": "#24292f", "size": 7},
        name="noise limit (sample-size-aware)",
        hovertemplate="%{y}: noise limit %{x:.4f}<extra></extra>",
    )
    for value, label, side in ((result.psi_warn, "warn", "top left"), (result.psi_alert, "alert", "top right")):
        figure.add_vline(
            x=value,
            line_dash="dash",
            line_color="#656d76",
            annotation_text=f"{label} {value:g}",
            annotation_position=side,
        )
    figure.update_layout(
        height=max(320, 22 * len(names) + 80),
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        xaxis={"type": "log", "title": "PSI (log scale)"},
        legend={"orientation": "h", "y": -0.12},
        bargap=0.25,
    )
    return _html(figure, div_id)


@dataclass(frozen=True)
class F1Point:
    """One performance report: realised F1 (None before labels), the label-free estimate, test F1."""

    as_of: dt.date
    version: str
    realised_f1: float | None
    estimated_f1: float | None
    reference_f1: float | None
    action: str


def f1_trend_chart(points: Sequence[F1Point], *, div_id: str = "f1-chart") -> str:
    """Realised F1 per version over time (solid), the estimate (dotted, labelled as one), the test F1
    (dashed) and red crosses where an automatic rollback happened."""
    figure = go.Figure()
    for version in dict.fromkeys(p.version for p in points):
        mine = [p for p in points if p.version == version]
        figure.add_scatter(
            x=[p.as_of for p in mine],
            y=[p.realised_f1 for p in mine],
            mode="lines+markers",
            name=f"{version}: realised F1",
        )
        figure.add_scatter(
            x=[p.as_of for p in mine],
            y=[p.estimated_f1 for p in mine],
            mode="lines",
            line={"dash": "dot"},
            name=f"{version}: ESTIMATED F1 (no labels yet)",
        )
        figure.add_scatter(
            x=[p.as_of for p in mine],
            y=[p.reference_f1 for p in mine],
            mode="lines",
            line={"dash": "dash", "width": 1},
            name=f"{version}: test F1",
        )
    rollbacks = [p for p in points if p.action == "rollback"]
    if rollbacks:
        figure.add_scatter(
            x=[p.as_of for p in rollbacks],
            y=[p.realised_f1 for p in rollbacks],
            mode="markers",
            marker={"symbol": "x", "size": 12, "color": "#cf222e"},
            name="automatic rollback",
        )
    figure.update_layout(
        height=340,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        yaxis={"title": "F1", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
    )
    return _html(figure, div_id)
