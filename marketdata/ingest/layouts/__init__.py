"""One parser per bhavcopy layout, and the header-based detection that picks one."""

from __future__ import annotations

from collections.abc import Sequence

from marketdata.ingest.errors import IngestError
from marketdata.ingest.layouts import bse_equity, normalised, nse_full, nse_legacy, nse_udiff
from marketdata.ingest.layouts.base import Layout

LAYOUTS: tuple[Layout, ...] = (
    nse_legacy.LAYOUT,
    nse_full.LAYOUT,
    nse_udiff.LAYOUT,
    bse_equity.LAYOUT,
    normalised.LAYOUT,
)
LAYOUT_NAMES: tuple[str, ...] = tuple(layout.name for layout in LAYOUTS)


def detect_layout(header: Sequence[str]) -> Layout:
    """The layout whose columns the header carries: never guessed from the file name.

    A layout is a candidate when the header has one of its key columns; the candidate with the
    largest share of its required columns wins. A winner missing required columns is refused
    with their names, so a truncated header reads as such and not as "unknown layout".
    """
    present = {name.strip() for name in header}
    candidates = [layout for layout in LAYOUTS if present.intersection(layout.keys)]
    if not candidates:
        shown = ", ".join(list(header)[:8]) + (", ..." if len(header) > 8 else "")
        raise IngestError(
            f"unknown layout: the header ({shown}) matches none of {', '.join(LAYOUT_NAMES)}; "
            "check that this is a daily equity bhavcopy (see docs/ingestion.md for the columns each needs)"
        )
    best = max(candidates, key=lambda layout: len(present.intersection(layout.required)) / len(layout.required))
    missing = [name for name in best.required if name not in present]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise IngestError(
            f"missing required column{plural} {', '.join(missing)} for layout {best.name}: the file is truncated "
            "or was edited; download it again"
        )
    return best


__all__ = ["LAYOUTS", "LAYOUT_NAMES", "Layout", "detect_layout"]
