"""One parser per bhavcopy layout, and the header-based detection that picks one."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from marketdata.ingest.errors import IngestError
from marketdata.ingest.layouts import bse_equity, bse_udiff, normalised, nse_full, nse_legacy, nse_udiff
from marketdata.ingest.layouts.base import Layout

LAYOUTS: tuple[Layout, ...] = (
    nse_legacy.LAYOUT,
    nse_full.LAYOUT,
    nse_udiff.LAYOUT,
    bse_udiff.LAYOUT,
    bse_equity.LAYOUT,
    normalised.LAYOUT,
)
LAYOUT_NAMES: tuple[str, ...] = tuple(layout.name for layout in LAYOUTS)


def detect_layout(header: Sequence[str], *, frame: pd.DataFrame | None = None, filename: str = "") -> Layout:
    """The layout whose columns the header carries.

    A layout is a candidate when the header has one of its key columns; the candidate with the
    largest share of its required columns wins. A winner missing required columns is refused
    with their names, so a truncated header reads as such and not as "unknown layout". Layouts
    with the same header (NSE's and BSE's UDiFF) are told apart by ``frame``'s rows (the Src
    column) and then ``filename``; without them the first such layout wins.
    """
    present = {name.strip() for name in header}
    candidates = [layout for layout in LAYOUTS if present.intersection(layout.keys)]
    if not candidates:
        shown = ", ".join(list(header)[:8]) + (", ..." if len(header) > 8 else "")
        raise IngestError(
            f"unknown layout: the header ({shown}) matches none of {', '.join(LAYOUT_NAMES)}; "
            "check that this is a daily equity bhavcopy (see docs/ingestion.md for the columns each needs)"
        )

    def share(layout: Layout) -> float:
        return len(present.intersection(layout.required)) / len(layout.required)

    top = max(share(layout) for layout in candidates)
    tied = [layout for layout in candidates if share(layout) == top]
    best = tied[0]
    if len(tied) > 1 and frame is not None:
        best = next((layout for layout in tied if layout.accepts and layout.accepts(frame, filename)), best)
    missing = [name for name in best.required if name not in present]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise IngestError(
            f"missing required column{plural} {', '.join(missing)} for layout {best.name}: the file is truncated "
            "or was edited; download it again"
        )
    return best


__all__ = ["LAYOUTS", "LAYOUT_NAMES", "Layout", "detect_layout"]
