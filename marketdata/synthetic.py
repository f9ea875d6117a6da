"""The synthetic NSE-like market: deterministic daily bars with the real data's quirks.

Pure: numpy, pandas and exchange_calendars, no Django. ``generate_market`` returns a
``SyntheticMarket`` whose ``bars`` frame has the normalised layout of the ingesters (one row per
stock-day, prices in rupees on the 0.05 tick, volume in shares, turnover in rupees) and whose
``stocks`` and ``truth`` frames hold what real data never tells: each stock's true band, sector and
beta, and per stock-day flags (hot run, VCP contraction, breakout, lock, split).

The simulation runs over stocks as numpy vectors of length N and loops over days (T). Every
internal per-day array is shaped (N,); the stored arrays are (T, N) and become long rows at the
end. The model, every parameter and the measured base rates are in docs/synthetic-market.md.

Circuit rules come from ``marketdata.circuits`` (band prices, tick): the simulation locks a stock at
``upper_band_price`` when its latent move reaches the band, and the tests measure the resulting
base rate with ``upper_circuit_panel`` on *inferred* bands, as downstream code sees it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from marketdata.calendar import trading_sessions
from marketdata.circuits import TICK, lower_band_price, truth_flags, upper_band_price
from marketdata.ingest.frame import BAR_VALUE_COLUMNS
from marketdata.panel import Panel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

MAX_DAYS = 5000
MAX_STOCKS = 100_000

TRUTH_COLUMNS: tuple[str, ...] = (
    "hot",
    "in_vcp",
    "vcp_contraction",
    "vcp_pivot",
    "breakout",
    "breakdown",
    "locked_up",
    "locked_down",
    "split",
)

SECTORS: tuple[tuple[str, str], ...] = (
    ("Textiles", "TEX"),
    ("Pharmaceuticals", "PHARM"),
    ("Finance", "FIN"),
    ("Industries", "IND"),
    ("Power", "POWER"),
    ("Chemicals", "CHEM"),
    ("Infrastructure", "INFRA"),
    ("Auto", "AUTO"),
    ("Steel", "STEEL"),
    ("Agro", "AGRO"),
    ("Technologies", "TECH"),
    ("Foods", "FOODS"),
)
_SYLLABLES: tuple[str, ...] = (
    "ka", "ve", "ri", "sa", "ma", "ra", "ni", "ta", "la", "pa", "vi", "dha", "ja", "ya", "na", "ba",
    "ha", "ga", "shi", "ku", "mo", "de", "su", "pra", "sha", "ro", "tri", "lo", "bha", "che", "go",
    "in", "ar", "an", "ud", "om", "ek", "ad", "zen", "vas",
)  # fmt: skip
_SME_LOTS: tuple[int, ...] = (600, 1000, 1200, 1600, 2000, 3000, 4000, 6000)


@dataclass(frozen=True)
class MarketParams:
    """Every knob of the model. Probabilities are per stock-day unless named otherwise; volatilities
    are daily standard deviations of log returns; bands are percents (0 = no band)."""

    burn_in_days: int = 260  # simulated, not emitted: GARCH state, regimes and 52-week highs settle
    series_mix: tuple[tuple[str, float], ...] = (("EQ", 0.84), ("BE", 0.08), ("SM", 0.08))
    band_mix: tuple[tuple[str, tuple[tuple[int, float], ...]], ...] = (
        ("EQ", ((0, 0.09), (2, 0.03), (5, 0.22), (10, 0.36), (20, 0.30))),
        ("BE", ((2, 0.15), (5, 0.65), (10, 0.15), (20, 0.05))),
        ("SM", ((2, 0.05), (5, 0.75), (10, 0.15), (20, 0.05))),
    )
    # Factors: one market, one per sector; Student-t innovations with GARCH(1,1) variance.
    t_df: float = 4.0
    garch_alpha: float = 0.08
    garch_beta: float = 0.90
    market_vol: float = 0.010
    sector_vol: float = 0.007
    beta_mean: float = 1.0
    beta_sd: float = 0.3
    sector_loading_mean: float = 0.8
    sector_loading_sd: float = 0.25
    # Idiosyncratic volatility: wide bands draw it absolutely, tight bands relative to the band.
    idio_vol_median: float = 0.020
    idio_vol_median_no_band: float = 0.013
    idio_vol_log_sd: float = 0.30
    idio_vol_of_band: tuple[float, float] = (0.18, 0.30)  # for 2% and 5% bands: band x U(lo, hi)
    # Hot (and cold) runs: persistent drift towards the band, the main source of circuit streaks.
    hot_entry: tuple[tuple[str, float], ...] = (("EQ", 0.003), ("BE", 0.026), ("SM", 0.050))
    cold_entry_share: float = 0.6  # cold entry probability as a share of the hot one
    hot_exit: float = 0.25
    hot_drift_of_band: tuple[float, float] = (0.7, 1.4)  # x log(1 + band)
    hot_vol_mult: float = 1.5
    # Unfilled demand on a locked day carries into the next day's latent move.
    lock_carry: float = 0.7
    # Log prices revert towards an anchor that moves with the factors, so runs partly unwind
    # (pump and dump) and the universe does not drift away from realistic price levels.
    mean_reversion: float = 0.01
    # Locked days: volume share of normal, and how the day opened.
    locked_volume_share: tuple[float, float] = (0.03, 0.15)
    locked_flat_share: float = 0.35  # open = high = low = close at the band
    locked_open_share: float = 0.17  # opened at the band, dipped, relocked
    # Intraday shape.
    overnight_share: float = 0.35  # share of the day's latent move already in the open
    range_vol_mult: float = 0.5
    # Prices and volumes.
    price_median: float = 110.0
    price_log_sd: float = 1.3
    price_median_no_band: float = 900.0
    price_min: float = 3.0
    price_max: float = 25_000.0
    volume_median: float = 60_000.0
    volume_log_sd: float = 1.4
    volume_day_log_sd: float = 0.45
    trade_value_median: float = 25_000.0  # rupees per trade
    # Quirks: illiquid stocks with gaps, suspensions, listings mid-window, splits.
    illiquid_share: tuple[tuple[str, float], ...] = (("EQ", 0.04), ("BE", 0.10), ("SM", 0.30))
    illiquid_trade_prob: tuple[float, float] = (0.45, 0.90)
    single_trade_share: float = 0.3  # illiquid days with one trade: open = high = low = close
    suspension_share: float = 0.01
    suspension_days: tuple[int, int] = (6, 40)
    listing_share: float = 0.04
    splits_per_stock_year: float = 0.02
    split_ratios: tuple[tuple[int, float], ...] = ((2, 0.5), (5, 0.3), (10, 0.2))
    penny_floor_ticks: float = 1.5  # keep a band at least this many ticks wide: pull penny stocks up
    # VCP episodes.
    vcp_start: float = 0.008  # per eligible stock-day: near its 52-week high, calm, not in a run
    vcp_near_high: float = 0.90
    vcp_contractions: tuple[tuple[int, float], ...] = ((2, 0.35), (3, 0.40), (4, 0.25))
    vcp_first_depth: tuple[float, float] = (0.10, 0.25)
    vcp_depth_shrink: tuple[float, float] = (0.40, 0.65)
    vcp_leg_days: tuple[int, int] = (4, 11)
    vcp_max_drift_of_band: float = 0.4  # legs lengthen so no day's drift exceeds this share of the band
    vcp_volume_decay: float = 0.75  # volume multiplier shrinks by this per contraction
    vcp_pivot_days: tuple[int, int] = (3, 7)
    vcp_pivot_vol_mult: float = 0.25
    vcp_pivot_volume_mult: float = 0.35
    vcp_breakout_of_band: tuple[float, float] = (0.6, 1.5)  # x log(1 + band); no band: x log(1.10)
    vcp_breakout_volume_mult: tuple[float, float] = (2.5, 5.0)
    vcp_fail_share: float = 0.30  # episodes that break down instead
    vcp_post_breakout_hot: float = 0.40  # chance a breakout starts a hot run the next day

    def mapping(self, name: str) -> dict[str, float]:
        return dict(getattr(self, name))


DEFAULT_PARAMS = MarketParams()
_VCP_MAX_LEN = 200


@dataclass(frozen=True)
class SyntheticMarket:
    """A generated market.

    ``bars``: long rows ``BAR_COLUMNS``, ordered by (date, symbol). ``stocks``: one row per stock
    (symbol, series, isin, name, sector, beta, true_band (NaN = no band), idio_vol, illiquid,
    listing_date, split_date, split_ratio). ``truth``: ``TRUTH_COLUMNS`` aligned row for row with
    ``bars`` (same index). ``dates``: the simulated sessions, (T,) datetime64[D].
    """

    bars: pd.DataFrame
    stocks: pd.DataFrame
    truth: pd.DataFrame
    dates: npt.NDArray[np.datetime64]
    seed: int
    params: MarketParams = field(default=DEFAULT_PARAMS, repr=False)

    def panel(self) -> Panel:
        """The bars as a (T, N) panel, exactly as downstream code builds it."""
        return Panel.from_long(self.bars)

    def truth_panel(self, column: str) -> FloatArray:
        """One truth column as a (T, N) float panel aligned with ``panel()`` (NaN where no bar)."""
        date_codes, _ = pd.factorize(self.bars["date"], sort=True)
        stock_codes, stocks = pd.factorize(self.bars["symbol"], sort=True)
        out = np.full((int(date_codes.max()) + 1, len(stocks)), np.nan)
        out[date_codes, stock_codes] = self.truth[column].to_numpy(dtype=np.float64)
        return out

    def upper_circuit_rate(self) -> float:
        """Share of stock-days locked at the upper circuit (the platform's label truth), read from the bars."""
        p = self.panel()
        flags = truth_flags(p.open, p.high, p.low, p.close, p.prev_close)["platform"]
        return float(flags[p.has_bar].mean())


# --- helpers on (N,) price vectors ------------------------------------------------------------


def _tick_round(price: FloatArray) -> FloatArray:
    # The double round leaves the float nearest the 2-decimal value, so files print "40.15".
    return np.maximum(np.round(np.round(price / TICK) * TICK, 2), TICK)


def _tick_up(price: FloatArray) -> FloatArray:
    return np.maximum(np.round(np.ceil(price / TICK - 1e-7) * TICK, 2), TICK)


def _tick_down(price: FloatArray) -> FloatArray:
    return np.maximum(np.round(np.floor(price / TICK + 1e-7) * TICK, 2), TICK)


def _choice(rng: np.random.Generator, table: tuple[tuple[object, float], ...], size: int) -> npt.NDArray:
    values = np.array([v for v, _ in table], dtype=object)
    probs = np.array([p for _, p in table], dtype=np.float64)
    return values[rng.choice(len(values), size=size, p=probs / probs.sum())]


def _student_t(rng: np.random.Generator, df: float, size: int | tuple[int, ...]) -> FloatArray:
    """Student-t draws scaled to unit variance."""
    return rng.standard_t(df, size=size) * np.sqrt((df - 2.0) / df)


def _isin(issuer: str) -> str:
    """A 12-character ISIN ``INE<issuer>01<serial><check>`` with the Luhn check digit ISO 6166 uses."""
    body = f"INE{issuer}0101"
    digits = "".join(str(int(ch, 36)) for ch in body)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return f"{body}{(10 - total % 10) % 10}"


# Real issuer codes never start with V-Z, so synthetic ISINs cannot collide with real ones, and an
# instrument whose ISIN starts with one of these came from this module (the synthetic-data caveat).
SYNTHETIC_ISIN_PREFIXES: tuple[str, ...] = tuple(f"INE{letter}" for letter in "ZYXWV")


def _issuer_code(index: int) -> str:
    prefix, rest = divmod(index, 36**3)
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    body = chars[rest // 1296] + chars[(rest // 36) % 36] + chars[rest % 36]
    return "ZYXWV"[prefix] + body


def _symbols_and_names(rng: np.random.Generator, sectors: IntArray) -> tuple[list[str], list[str]]:
    """Unique pronounceable tickers (a few with the real '&' and '-' quirks) and company names."""
    n = len(sectors)
    symbols: list[str] = []
    names: list[str] = []
    seen: set[str] = set()
    i = 0
    while i < n:
        k = int(rng.integers(2, 4))
        stem = "".join(_SYLLABLES[j] for j in rng.integers(0, len(_SYLLABLES), size=k))
        word, suffix = SECTORS[int(sectors[i])]
        quirk = rng.random()
        if quirk < 0.01:
            other = "".join(_SYLLABLES[j] for j in rng.integers(0, len(_SYLLABLES), size=2))
            symbol = f"{stem[:4]}&{other[:4]}".upper()
            name = f"{stem.title()} & {other.title()} {word} Limited"
        elif quirk < 0.02:
            symbol = f"{stem[:6]}-{suffix[:4]}".upper()
            name = f"{stem.title()} {word} Limited"
        else:
            symbol = f"{stem[:7]}{suffix}".upper()[:12]
            name = f"{stem.title()} {word} Limited"
        if symbol in seen:
            continue
        seen.add(symbol)
        symbols.append(symbol)
        names.append(name)
        i += 1
    return symbols, names


# --- the universe -------------------------------------------------------------------------------


@dataclass
class _Universe:
    """Per-stock attributes, (N,) arrays ordered by symbol."""

    symbol: npt.NDArray[np.object_]
    name: npt.NDArray[np.object_]
    isin: npt.NDArray[np.object_]
    series: npt.NDArray[np.object_]
    sector: IntArray
    band: FloatArray  # percent, NaN = no band
    beta: FloatArray
    loading: FloatArray
    idio_vol: FloatArray
    price0: FloatArray
    volume_base: FloatArray
    trade_size: FloatArray
    lot: FloatArray  # SME lot size, 1 elsewhere
    hot_entry: FloatArray
    trade_prob: FloatArray  # 1 for liquid stocks
    listing_day: IntArray  # emitted-day index of the first bar (0 = listed before the window)
    suspension: tuple[IntArray, IntArray]  # [start, end) emitted-day indices, -1 = none
    split_day: IntArray  # emitted-day index, -1 = none
    split_ratio: FloatArray


def _universe(rng: np.random.Generator, *, stocks: int, days: int, params: MarketParams) -> _Universe:
    n = stocks
    series = _choice(rng, params.series_mix, n)
    band = np.full(n, np.nan)
    for name, table in params.band_mix:
        mask = series == name
        drawn = _choice(rng, table, int(mask.sum())).astype(np.float64)
        band[mask] = np.where(drawn == 0, np.nan, drawn)
    no_band = np.isnan(band)
    sector = rng.integers(0, len(SECTORS), size=n)
    beta = np.clip(rng.normal(params.beta_mean, params.beta_sd, n), 0.2, 2.0)
    loading = np.clip(rng.normal(params.sector_loading_mean, params.sector_loading_sd, n), 0.0, 1.6)
    idio = np.exp(rng.normal(np.log(params.idio_vol_median), params.idio_vol_log_sd, n))
    idio[no_band] = np.exp(rng.normal(np.log(params.idio_vol_median_no_band), params.idio_vol_log_sd, no_band.sum()))
    tight = band <= 5
    lo, hi = params.idio_vol_of_band
    idio[tight] = band[tight] / 100.0 * rng.uniform(lo, hi, tight.sum())
    price = np.exp(rng.normal(np.log(params.price_median), params.price_log_sd, n))
    price[no_band] = np.exp(rng.normal(np.log(params.price_median_no_band), 0.8, no_band.sum()))
    price = np.clip(price, params.price_min, params.price_max)
    volume = np.exp(rng.normal(np.log(params.volume_median), params.volume_log_sd, n))
    volume[no_band] *= 20.0
    volume[series == "BE"] *= 0.4
    lot = np.ones(n)
    sme = series == "SM"
    lot[sme] = _choice(rng, tuple((v, 1.0) for v in _SME_LOTS), int(sme.sum())).astype(np.float64)
    volume[sme] = np.maximum(volume[sme] * 0.2, lot[sme])
    trade_size = np.maximum(params.trade_value_median / price * np.exp(rng.normal(0, 0.4, n)), 1.0)
    hot = np.array([params.mapping("hot_entry")[s] for s in series], dtype=np.float64)
    hot[no_band] = 0.0
    illiquid = rng.random(n) < np.array([params.mapping("illiquid_share")[s] for s in series])
    illiquid &= ~no_band
    trade_prob = np.where(illiquid, rng.uniform(*params.illiquid_trade_prob, n), 1.0)
    listing = np.where(rng.random(n) < params.listing_share, rng.integers(1, max(days, 2), n), 0)
    listing[listing >= days] = 0
    susp_start = np.full(n, -1)
    susp_end = np.full(n, -1)
    suspended = (rng.random(n) < params.suspension_share) & ~no_band
    lengths = rng.integers(params.suspension_days[0], params.suspension_days[1] + 1, n)
    starts = rng.integers(0, max(days, 1), n)
    susp_start[suspended] = starts[suspended]
    susp_end[suspended] = starts[suspended] + lengths[suspended]
    split_prob = min(params.splits_per_stock_year * days / 250.0, 1.0)
    has_split = rng.random(n) < split_prob
    split_day = np.where(has_split, rng.integers(1, max(days, 2), n), -1)
    split_day[split_day >= days] = -1
    split_ratio = np.where(split_day >= 0, _choice(rng, params.split_ratios, n).astype(np.float64), 1.0)
    symbols, names = _symbols_and_names(rng, sector)
    order = np.argsort(np.array(symbols, dtype=object), kind="stable")
    # ISINs follow the sorted order so they read in sequence in the files.
    isins = np.array([_isin(_issuer_code(i)) for i in range(n)], dtype=object)
    return _Universe(
        symbol=np.array(symbols, dtype=object)[order],
        name=np.array(names, dtype=object)[order],
        isin=isins,
        series=series[order].astype(object),
        sector=sector[order],
        band=band[order],
        beta=beta[order],
        loading=loading[order],
        idio_vol=idio[order],
        price0=price[order],
        volume_base=volume[order],
        trade_size=trade_size[order],
        lot=lot[order],
        hot_entry=hot[order],
        trade_prob=trade_prob[order],
        listing_day=listing[order],
        suspension=(susp_start[order], susp_end[order]),
        split_day=split_day[order],
        split_ratio=split_ratio[order],
    )


# --- VCP episodes -------------------------------------------------------------------------------


@dataclass
class _Episodes:
    """Active VCP episodes: per-stock schedules, (N, L) arrays read at position ``pos``."""

    drift: FloatArray
    vol_mult: FloatArray
    volume_mult: FloatArray
    stage: npt.NDArray[np.int8]  # 1-4 contraction, 8 pivot, 9 breakout, 10 breakdown
    pos: IntArray  # -1 = no episode
    length: IntArray

    @classmethod
    def empty(cls, n: int) -> _Episodes:
        return cls(
            drift=np.zeros((n, _VCP_MAX_LEN)),
            vol_mult=np.ones((n, _VCP_MAX_LEN)),
            volume_mult=np.ones((n, _VCP_MAX_LEN)),
            stage=np.zeros((n, _VCP_MAX_LEN), dtype=np.int8),
            pos=np.full(n, -1),
            length=np.zeros(n, dtype=np.int64),
        )

    def start(self, rng: np.random.Generator, i: int, band_log: float, params: MarketParams) -> None:
        """Write one episode's schedule for stock ``i``: K pullbacks of shrinking depth, each
        followed by a recovery towards the pivot, a tight pivot, then a breakout (or breakdown)."""
        counts, probs = zip(*params.vcp_contractions, strict=True)
        k_count = int(counts[int(np.searchsorted(np.cumsum(probs) / sum(probs), rng.random(), side="right"))])
        depth = rng.uniform(*params.vcp_first_depth)
        max_drift = params.vcp_max_drift_of_band * band_log
        drift: list[float] = []
        vol: list[float] = []
        volume: list[float] = []
        stage: list[int] = []
        first_depth = depth
        for k in range(1, k_count + 1):
            fall = -np.log1p(-depth)
            down = max(int(rng.integers(*params.vcp_leg_days)), int(np.ceil(fall / max_drift)))
            up = max(int(rng.integers(*params.vcp_leg_days)), int(np.ceil(fall / max_drift)))
            recover = fall * rng.uniform(0.92, 1.0)
            v_mult = max(0.3, float(np.sqrt(depth / first_depth)))
            vol_k = params.vcp_volume_decay ** (k - 1)
            drift += [-fall / down] * down + [recover / up] * up
            vol += [v_mult] * (down + up)
            volume += [vol_k] * down + [vol_k * 0.85] * up
            stage += [k] * (down + up)
            depth *= rng.uniform(*params.vcp_depth_shrink)
        pivot = int(rng.integers(params.vcp_pivot_days[0], params.vcp_pivot_days[1] + 1))
        drift += [0.0] * pivot
        vol += [params.vcp_pivot_vol_mult] * pivot
        volume += [params.vcp_pivot_volume_mult] * pivot
        stage += [8] * pivot
        jump = rng.uniform(*params.vcp_breakout_of_band) * band_log
        failed = rng.random() < params.vcp_fail_share
        drift.append(-jump if failed else jump)
        vol.append(0.5)
        volume.append(rng.uniform(*params.vcp_breakout_volume_mult))
        stage.append(10 if failed else 9)
        length = min(len(drift), _VCP_MAX_LEN)
        self.drift[i, :length] = drift[:length]
        self.vol_mult[i, :length] = vol[:length]
        self.volume_mult[i, :length] = volume[:length]
        self.stage[i, :length] = stage[:length]
        self.pos[i] = 0
        self.length[i] = length


# --- the simulation -----------------------------------------------------------------------------


@dataclass
class _Tape:
    """What the simulation records for emitted days: (T, N) arrays."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    last: FloatArray
    prev_close: FloatArray
    volume: FloatArray
    turnover: FloatArray
    trades: FloatArray
    has_bar: BoolArray
    hot: npt.NDArray[np.int8]
    stage: npt.NDArray[np.int8]
    locked_up: BoolArray
    locked_down: BoolArray
    split: BoolArray

    @classmethod
    def empty(cls, t: int, n: int) -> _Tape:
        def f() -> FloatArray:
            return np.full((t, n), np.nan)

        def b() -> BoolArray:
            return np.zeros((t, n), dtype=bool)

        return cls(
            open=f(),
            high=f(),
            low=f(),
            close=f(),
            last=f(),
            prev_close=f(),
            volume=f(),
            turnover=f(),
            trades=f(),
            has_bar=b(),
            hot=np.zeros((t, n), dtype=np.int8),
            stage=np.zeros((t, n), dtype=np.int8),
            locked_up=b(),
            locked_down=b(),
            split=b(),
        )


def _garch_step(
    rng: np.random.Generator, var: FloatArray, uncond: FloatArray, params: MarketParams
) -> tuple[FloatArray, FloatArray]:
    """One GARCH(1,1) day: returns (shock, next variance); shocks are Student-t with that variance."""
    shock = np.sqrt(var) * _student_t(rng, params.t_df, var.shape)
    omega = uncond * (1.0 - params.garch_alpha - params.garch_beta)
    # Capping the squared shock keeps one freak draw from blowing the variance up for weeks.
    sq = np.minimum(shock**2, 25.0 * uncond)
    return shock, omega + params.garch_alpha * sq + params.garch_beta * var


def _simulate(rng: np.random.Generator, u: _Universe, *, days: int, params: MarketParams) -> _Tape:
    n = len(u.symbol)
    total = params.burn_in_days + days
    tape = _Tape.empty(days, n)
    has_band = ~np.isnan(u.band)
    band = np.where(has_band, u.band, 10.0)  # a no-band stock's "band" only scales drifts
    band_log = np.log1p(band / 100.0)
    # Below this price the band is narrower than ~1.5 ticks; real penny stocks rarely stay there.
    floor_price = params.penny_floor_ticks * TICK / (band / 100.0)
    close = u.price0.copy()
    anchor = np.log(close)
    mkt_var = np.array([params.market_vol**2])
    sec_uncond = np.full(len(SECTORS), params.sector_vol**2)
    sec_var = sec_uncond.copy()
    idio_uncond = u.idio_vol**2
    idio_var = idio_uncond.copy()
    carry = np.zeros(n)
    hot = np.zeros(n, dtype=np.int8)
    hot_drift = np.zeros(n)
    breakout_yesterday = np.zeros(n, dtype=bool)
    episodes = _Episodes.empty(n)
    high52 = close.copy()
    ring = np.full((250, n), np.nan)
    cold_entry = u.hot_entry * params.cold_entry_share
    susp_start, susp_end = u.suspension
    lo_lock, hi_lock = params.locked_volume_share
    shares = np.ones(n)  # cumulative split ratio

    for t in range(total):
        e = t - params.burn_in_days  # emitted-day index, negative during burn-in
        m_shock, mkt_var = _garch_step(rng, mkt_var, np.array([params.market_vol**2]), params)
        s_shock, sec_var = _garch_step(rng, sec_var, sec_uncond, params)
        eps, idio_var = _garch_step(rng, idio_var, idio_uncond, params)
        u_regime = rng.random(n)
        u_enter = rng.random(n)
        u_vcp = rng.random(n)
        z_open, z_high, z_low, z_volume, z_trades, z_last = rng.standard_normal((6, n))
        u_pattern = rng.random(n)
        u_trade = rng.random(n)
        u_locked_volume = rng.uniform(lo_lock, hi_lock, n)

        # Regimes: runs end, new runs start outside VCP episodes; a breakout may start a run.
        in_episode = episodes.pos >= 0
        hot[(hot != 0) & (u_regime < params.hot_exit)] = 0
        calm = (hot == 0) & ~in_episode
        start_hot = calm & (u_enter < u.hot_entry)
        start_cold = calm & ~start_hot & (u_enter < u.hot_entry + cold_entry)
        post = breakout_yesterday & (u_enter < params.vcp_post_breakout_hot)
        start_hot |= post
        new_run = start_hot | start_cold
        hot[start_hot] = 1
        hot[start_cold] = -1
        hot_drift[new_run] = rng.uniform(*params.hot_drift_of_band, int(new_run.sum())) * band_log[new_run]

        # VCP episodes start near 52-week highs in calm stocks.
        if t % 10 == 0:
            high52 = np.fmax(np.nanmax(ring, axis=0), close) if t else close.copy()
        eligible = calm & (hot == 0) & (close >= params.vcp_near_high * high52)
        for i in np.flatnonzero(eligible & (u_vcp < params.vcp_start)):
            episodes.start(rng, int(i), float(band_log[i]), params)
        in_episode = episodes.pos >= 0
        idx = np.flatnonzero(in_episode)
        pos = episodes.pos[idx]
        ep_drift = np.zeros(n)
        ep_vol = np.ones(n)
        ep_volume = np.ones(n)
        stage = np.zeros(n, dtype=np.int8)
        ep_drift[idx] = episodes.drift[idx, pos]
        ep_vol[idx] = episodes.vol_mult[idx, pos]
        ep_volume[idx] = episodes.volume_mult[idx, pos]
        stage[idx] = episodes.stage[idx, pos]

        # The latent move: factors, idiosyncratic shock, run drift, episode drift, carried demand.
        sigma = u.idio_vol * np.where(hot != 0, params.hot_vol_mult, 1.0) * ep_vol
        x = (
            u.beta * m_shock[0]
            + u.loading * s_shock[u.sector]
            + eps * sigma / u.idio_vol
            + hot * hot_drift
            + ep_drift
            + carry
            + 0.5 * np.maximum(np.log(floor_price / close), 0.0)
            - params.mean_reversion * (np.log(close) - anchor)
        )
        anchor += u.beta * m_shock[0] + u.loading * s_shock[u.sector]

        # Which stocks print a bar today (emitted days only).
        if e >= 0:
            splitting = u.split_day == e
            # An ex-date always prints a bar, so the unadjusted prev_close shows up in the data.
            trades_today = ((u_trade < u.trade_prob) | splitting) & (e >= u.listing_day)
            trades_today &= ~((e >= susp_start) & (e < susp_end))
        else:
            trades_today = u_trade < u.trade_prob
            splitting = np.zeros(n, dtype=bool)
        ratio = np.where(splitting, u.split_ratio, 1.0)
        ref = close / ratio  # the exchange's adjusted base price on an ex-date

        upper = np.where(has_band, upper_band_price(ref, band), np.inf)
        lower = np.where(has_band, lower_band_price(ref, band), TICK)
        raw_close = _tick_round(ref * np.exp(x))
        locked_up = has_band & (raw_close >= upper) & (upper > ref)
        locked_down = has_band & (raw_close <= lower) & (lower < ref)
        c = np.clip(raw_close, lower, upper)
        realised = np.log(c / ref)
        carry = np.where(locked_up | locked_down, params.lock_carry * (x - realised), 0.0)

        day_sigma = np.maximum(sigma, 0.002)
        o = np.clip(_tick_round(ref * np.exp(params.overnight_share * x + 0.25 * day_sigma * z_open)), lower, upper)
        spread = params.range_vol_mult * day_sigma
        h = np.minimum(_tick_up(np.maximum(o, c) * np.exp(np.abs(z_high) * spread)), upper)
        lo = np.maximum(_tick_down(np.minimum(o, c) * np.exp(-np.abs(z_low) * spread)), lower)
        # Locked days: the lock sets one extreme; some open at the band and never leave it.
        flat_lock = u_pattern < params.locked_flat_share
        open_lock = ~flat_lock & (u_pattern < params.locked_flat_share + params.locked_open_share)
        o = np.where(locked_up & (flat_lock | open_lock), upper, o)
        o = np.where(locked_down & (flat_lock | open_lock), lower, o)
        h = np.where(locked_up, upper, np.where(locked_down & flat_lock, lower, h))
        lo = np.where(locked_down, lower, np.where(locked_up & flat_lock, upper, lo))
        h = np.maximum(h, np.maximum(o, c))
        lo = np.minimum(lo, np.minimum(o, c))
        single = (u.trade_prob < 1.0) & (u_pattern > 1.0 - params.single_trade_share)
        o = np.where(single, c, o)
        h = np.where(single, c, h)
        lo = np.where(single, c, lo)
        last = np.where(
            locked_up | locked_down | single,
            c,
            np.clip(_tick_round(c * np.exp(0.002 * z_last)), lo, h),
        )

        activity = np.exp(params.volume_day_log_sd * z_volume + 0.5 * np.minimum(np.abs(eps) / u.idio_vol, 4.0))
        # Share counts scale with every split so far (today's included).
        scale = shares * ratio
        volume = u.volume_base * scale * activity * ep_volume
        volume = np.where(locked_up | locked_down, volume * u_locked_volume, volume)
        volume = np.where(single, np.minimum(volume, u.trade_size * scale), volume)
        volume = np.maximum(np.round(volume / u.lot) * u.lot, u.lot)
        trades = np.clip(np.round(volume / (u.trade_size * scale) * np.exp(0.3 * z_trades)), 1.0, volume)
        trades = np.where(single, 1.0, trades)
        vwap = np.clip((h + lo + c) / 3.0, lo, h)
        turnover = np.round(volume * vwap, 2)

        if e >= 0:
            row = trades_today
            tape.has_bar[e] = row
            for arr, values in (
                (tape.open, o),
                (tape.high, h),
                (tape.low, lo),
                (tape.close, c),
                (tape.last, last),
                (tape.volume, volume),
                (tape.turnover, turnover),
                (tape.trades, trades),
            ):
                arr[e, row] = values[row]
            tape.prev_close[e, row] = close[row]  # NSE's own previous close: not split-adjusted
            tape.hot[e] = hot
            tape.stage[e] = stage
            tape.locked_up[e] = locked_up & row
            tape.locked_down[e] = locked_down & row
            tape.split[e] = splitting & row

        # A stock that does not trade keeps its close; its latent move is lost.
        close = np.where(trades_today, c, np.where(splitting, ref, close))
        carry = np.where(trades_today, carry, 0.0)
        if splitting.any():
            # Past prices in split terms, so the 52-week high and the anchor stay comparable.
            ring[:, splitting] /= u.split_ratio[splitting]
            high52[splitting] /= u.split_ratio[splitting]
            shares[splitting] *= u.split_ratio[splitting]
            anchor[splitting] -= np.log(u.split_ratio[splitting])
        ring[t % 250] = close
        high52 = np.maximum(high52, close)
        breakout_yesterday = stage == 9
        episodes.pos[idx] += 1
        finished = idx[episodes.pos[idx] >= episodes.length[idx]]
        episodes.pos[finished] = -1
    return tape


def generate_market(
    *,
    stocks: int,
    days: int,
    seed: int,
    end: dt.date | None = None,
    params: MarketParams = DEFAULT_PARAMS,
) -> SyntheticMarket:
    """Generate ``stocks`` stocks over the last ``days`` XBOM sessions up to ``end``.

    Deterministic: the same arguments give byte-identical frames (``end=None`` means the last
    session before today, so pass ``end`` to pin the dates too; the prices do not depend on it).
    """
    if stocks < 1 or stocks > MAX_STOCKS:
        raise ValueError(f"stocks must be between 1 and {MAX_STOCKS}, got {stocks}")
    if days < 1 or days > MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}, got {days}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    dates = trading_sessions(days=days, end=end)
    rng = np.random.default_rng(seed)
    universe = _universe(rng, stocks=stocks, days=days, params=params)
    bars, truth = _long_frames(_simulate(rng, universe, days=days, params=params), universe, dates)
    return SyntheticMarket(
        bars=bars,
        stocks=_stocks_frame(universe, dates),
        truth=truth,
        dates=dates,
        seed=seed,
        params=params,
    )


def _stocks_frame(u: _Universe, dates: npt.NDArray[np.datetime64]) -> pd.DataFrame:
    def on(day: IntArray) -> pd.Series:
        valid = day >= 0
        out = pd.Series(pd.NaT, index=range(len(day)), dtype="datetime64[s]")
        out[valid] = pd.to_datetime(dates[day[valid]])
        return out

    return pd.DataFrame(
        {
            "symbol": pd.array(u.symbol, dtype="str"),
            "series": pd.array(u.series, dtype="str"),
            "isin": pd.array(u.isin, dtype="str"),
            "name": pd.array(u.name, dtype="str"),
            "sector": pd.array([SECTORS[s][0] for s in u.sector], dtype="str"),
            "true_band": u.band,
            "beta": u.beta,
            "sector_loading": u.loading,
            "idio_vol": u.idio_vol,
            "illiquid": u.trade_prob < 1.0,
            "listing_date": on(np.where(u.listing_day > 0, u.listing_day, -1)),
            "split_date": on(u.split_day),
            "split_ratio": np.where(u.split_day >= 0, u.split_ratio, np.nan),
        }
    )


def _str_column(values: npt.NDArray[np.object_], take: pa.Array) -> pd.Series:
    """Per-stock strings repeated per row: an Arrow take is several times faster than pandas."""
    taken = pa.array(values.tolist(), type=pa.large_string()).take(take)
    return pd.Series(taken, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def _long_frames(tape: _Tape, u: _Universe, dates: npt.NDArray[np.datetime64]) -> tuple[pd.DataFrame, pd.DataFrame]:
    t_idx, n_idx = np.nonzero(tape.has_bar)
    take = pa.array(n_idx)
    bars = pd.DataFrame(
        {
            "exchange": _str_column(np.array(["NSE"], dtype=object), pa.array(np.zeros(len(n_idx), dtype=np.int64))),
            "symbol": _str_column(u.symbol, take),
            "isin": _str_column(u.isin, take),
            "name": _str_column(u.name, take),
            "date": pd.to_datetime(dates[t_idx]),
            "series": _str_column(u.series, take),
        }
    )
    # Each (T, N) array is released once its column exists, so peak memory holds one copy, not two.
    for column in BAR_VALUE_COLUMNS[1:]:
        values = getattr(tape, column)[t_idx, n_idx]
        bars[column] = values.astype(np.int64) if column in ("volume", "trades") else values
        setattr(tape, column, np.empty((0, 0)))
    stage = tape.stage[t_idx, n_idx]
    truth = pd.DataFrame(
        {
            "hot": tape.hot[t_idx, n_idx],
            "in_vcp": (stage >= 1) & (stage <= 8),
            "vcp_contraction": np.where(stage <= 4, stage, 0).astype(np.int8),
            "vcp_pivot": stage == 8,
            "breakout": stage == 9,
            "breakdown": stage == 10,
            "locked_up": tape.locked_up[t_idx, n_idx],
            "locked_down": tape.locked_down[t_idx, n_idx],
            "split": tape.split[t_idx, n_idx],
        }
    )
    return bars, truth
