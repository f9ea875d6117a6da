"""What loading one file did, and the one-line summary the command prints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

SUCCEEDED = "succeeded"
FAILED = "failed"
ALREADY_INGESTED = "already_ingested"


@dataclass(frozen=True)
class IngestResult:
    """One source file's outcome. Counts are rows; ``seconds`` is wall time for the file."""

    source: str
    status: str
    layout: str = ""
    exchange: str = ""
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    seconds: float = 0.0
    error: str = ""
    rejects_path: Path | None = None
    run_id: int | None = None
    refused_dates: tuple[tuple[dt.date, str], ...] = ()
    special_sessions: tuple[tuple[dt.date, str], ...] = ()

    @property
    def ok(self) -> bool:
        return self.status != FAILED

    @property
    def dates(self) -> str:
        if self.first_date is None:
            return "no dates"
        if self.first_date == self.last_date:
            return str(self.first_date)
        return f"{self.first_date}..{self.last_date}"

    def summary(self) -> str:
        if self.status == FAILED:
            return f"FAILED {self.source}: {self.error}"
        if self.status == ALREADY_INGESTED:
            return f"{self.source}: already ingested (run #{self.run_id}); nothing to do, --force reloads it"
        line = (
            f"{self.source}: {self.layout} {self.exchange} {self.dates} "
            f"inserted={self.inserted} updated={self.updated} unchanged={self.unchanged} "
            f"rejected={self.rejected} skipped={self.skipped} {self.seconds:.2f}s"
        )
        if self.rejects_path is not None:
            line += f" rejects={self.rejects_path}"
        for day, _ in self.special_sessions:
            line += f" special-session={day}"
        for day, reason in self.refused_dates:
            line += f"\n  refused {day}: {reason}"
        return line

    @property
    def note(self) -> str:
        """The dates this load judged, for the IngestRun's note."""
        return "\n".join(
            [f"special session {day}: {reason}" for day, reason in self.special_sessions]
            + [f"refused {day}: {reason}" for day, reason in self.refused_dates]
        )
