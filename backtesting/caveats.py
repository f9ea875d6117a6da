"""What a reader of a backtest must know before trusting its numbers: whether its period is
out-of-sample for the model, and whether the market behind it is synthetic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from backtesting.models import BacktestRun
from marketdata.selectors import synthetic_instrument_counts
from modelregistry.models import ModelVersion


def in_sample_overlap(version: ModelVersion, *, start: dt.date, end: dt.date) -> str | None:
    """Why ``[start, end]`` is not out-of-sample for ``version`` (it overlaps its training or
    validation period), or None when it is."""
    seen_until = version.valid_end or version.train_end
    if start <= seen_until and end >= version.train_start:
        return (
            f"{version.label} saw {version.train_start} to {seen_until} while training and validating; "
            f"{start} to {end} overlaps it, so these results are in-sample. Start after {seen_until}."
        )
    return None


def out_of_sample_from(version: ModelVersion) -> dt.date:
    """The first day ``version`` never saw: the day after its validation (or training) period."""
    return (version.valid_end or version.train_end) + dt.timedelta(days=1)


@dataclass(frozen=True)
class SampleNote:
    """The period's relation to the model: ``text`` always, ``warning`` when it is in-sample."""

    text: str
    warning: str | None = None


def backtest_sample_note(run: BacktestRun) -> SampleNote:
    """Which days are out-of-sample for the run's scores, and a warning when its period is not."""
    version = run.model_version
    if version is None:
        return SampleNote(
            "Out-of-sample by construction: each walk-forward fold's model was trained and validated "
            "before the month it scores."
        )
    validated = f", validated to {version.valid_end}" if version.valid_end else ""
    text = (
        f"{version.label} was trained on {version.train_start} to {version.train_end}{validated}: "
        f"days from {out_of_sample_from(version)} on are out-of-sample for it."
    )
    return SampleNote(text, in_sample_overlap(version, start=run.start, end=run.end))


def synthetic_market_caveat() -> str | None:
    """A caveat when the bars come from the synthetic market (``marketdata.synthetic``), else None."""
    synthetic, total = synthetic_instrument_counts()
    if not synthetic:
        return None
    share = "All" if synthetic == total else f"{synthetic:,} of {total:,}"
    return (
        f"Synthetic data: {share} instruments come from the generated demo market (their ISINs start "
        "with INEV to INEZ, which no real issuer has). Its returns, Sharpe and hit rates show that the "
        "pipeline works, not what the model would earn on NSE."
    )
