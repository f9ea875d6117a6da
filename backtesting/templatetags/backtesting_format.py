"""Number formats of the backtesting pages and report: percents, ratios, rupees; "-" for missing."""

from __future__ import annotations

import math
from typing import Any

from django import template

register = template.Library()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


@register.filter
def pct(value: Any, digits: int = 1) -> str:
    """0.1234 -> "12.3%"."""
    v = _number(value)
    if v is None:
        return "-"
    if math.isinf(v):
        return "inf"
    return f"{v * 100:.{int(digits)}f}%"


@register.filter
def num(value: Any, digits: int = 3) -> str:
    v = _number(value)
    if v is None:
        return "-"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:,.{int(digits)}f}"


@register.filter
def rupees(value: Any) -> str:
    v = _number(value)
    return "-" if v is None else f"Rs {v:,.0f}"


@register.filter
def fmt(value: Any, kind: str) -> str:
    """Format by kind: "pct", "int", or a plain number."""
    if kind == "pct":
        return pct(value)
    if kind == "int":
        v = _number(value)
        return "-" if v is None else f"{v:,.0f}"
    return num(value, 2)


@register.filter
def pvalue(value: Any) -> str:
    """Three significant digits, so a tiny p-value reads 1.79e-16 rather than 0.0000."""
    v = _number(value)
    return "-" if v is None else f"{v:.3g}"
