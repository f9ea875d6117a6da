"""Indian cash-equity trading costs: brokerage, STT, exchange charges, SEBI fee, stamp duty, GST, slippage.

Pure numpy, no Django. Values are rupees; rates are percents of traded value unless the name says
otherwise (``*_max`` and ``*_per_crore`` are rupees). Every function is vectorised: ``value`` and
``intraday`` may be scalars or 1-D arrays of equal length (one element per order).

A round trip is *intraday* when it is exited on the day it was entered (the broker's MIS product,
squared off the same day) and *delivery* otherwise (CNC: the shares reach the demat account). The
product decides the STT, the stamp duty and the brokerage; every other charge is the same for both.

Not modelled: contract-note rounding (brokers round STT to the rupee per contract note), depository
(DP) charges on delivery sells (set ``dp_charge_per_delivery_sell`` to include them), auto square-off
fees, and state-wise stamp duty before the uniform rates of 1 July 2020.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Side = Literal["buy", "sell"]

_PCT = 0.01
_CRORE = 1e7


@dataclass(frozen=True)
class CostRates:
    """Every rate of an Indian cash-equity order, with defaults and their sources.

    Brokerage (a discount broker's published schedule, e.g. Zerodha's, 2024): intraday 0.03% of the
    order value or Rs 20 per executed order, whichever is lower; delivery Rs 0 (set
    ``brokerage_delivery_pct``/``brokerage_delivery_max`` for a broker that charges delivery).

    STT (Securities Transaction Tax, Chapter VII of the Finance (No. 2) Act 2004, section 98, rates
    as amended by the Finance Act 2013 and unchanged for cash equity through 2024): delivery 0.1% on
    the buy and on the sell; intraday (non-delivery) 0.025% on the sell only.

    Exchange transaction charge: NSE cash market Rs 2.97 per lakh of traded value on each side
    (0.00297%), effective 1 October 2024 (NSE circular of 27 September 2024, issued after SEBI's
    circular of 1 July 2024 "Charges levied by Market Infrastructure Institutions" requiring uniform,
    true-to-label charges). Before that NSE charged about 0.00322-0.00345% by slab.

    SEBI turnover fee: Rs 10 per crore of traded value (0.0001%) on each side, as charged on
    contract notes in 2024.

    Stamp duty (Indian Stamp Act 1899 as amended by the Finance Act 2019, uniform across states
    from 1 July 2020, collected by the exchange on the buyer only): delivery 0.015%, intraday 0.003%.

    GST: 18% on brokerage + exchange transaction charge + SEBI fee (not on STT or stamp duty).

    DP charge: rupees per delivery sell order, GST included (the depository's and broker's fee for
    debiting the demat account); 0 by default, about Rs 13.5 + GST at discount brokers in 2024.

    Slippage (an assumption, not a published rate): ``slippage_bps`` basis points added to every buy
    price and taken off every sell price.
    """

    brokerage_intraday_pct: float = 0.03
    brokerage_intraday_max: float = 20.0
    brokerage_delivery_pct: float = 0.0
    brokerage_delivery_max: float = 20.0
    stt_delivery_pct: float = 0.1
    stt_intraday_sell_pct: float = 0.025
    exchange_txn_pct: float = 0.00297
    sebi_fee_per_crore: float = 10.0
    stamp_delivery_buy_pct: float = 0.015
    stamp_intraday_buy_pct: float = 0.003
    gst_pct: float = 18.0
    dp_charge_per_delivery_sell: float = 0.0
    slippage_bps: float = 10.0

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"cost rate {f.name} must not be negative")

    def buy_cost_rate_bound(self, *, intraday: bool) -> float:
        """An upper bound of a buy order's costs per rupee of order value (brokerage at its percent)."""
        brokerage = self.brokerage_intraday_pct if intraday else self.brokerage_delivery_pct
        stt = 0.0 if intraday else self.stt_delivery_pct
        stamp = self.stamp_intraday_buy_pct if intraday else self.stamp_delivery_buy_pct
        sebi_pct = self.sebi_fee_per_crore / _CRORE / _PCT
        taxable = brokerage + self.exchange_txn_pct + sebi_pct
        return (taxable * (1.0 + self.gst_pct * _PCT) + stt + stamp) * _PCT


@dataclass(frozen=True)
class CostBreakdown:
    """Charges per order (or per round trip when two legs are added), rupees, one element per trade."""

    brokerage: FloatArray
    stt: FloatArray
    exchange: FloatArray
    sebi: FloatArray
    stamp: FloatArray
    gst: FloatArray
    dp: FloatArray

    @property
    def total(self) -> FloatArray:
        return self.brokerage + self.stt + self.exchange + self.sebi + self.stamp + self.gst + self.dp

    def __add__(self, other: CostBreakdown) -> CostBreakdown:
        return CostBreakdown(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


def leg_costs(value: npt.ArrayLike, *, side: Side, intraday: npt.ArrayLike, rates: CostRates) -> CostBreakdown:
    """Charges on one order of ``value`` rupees (price x quantity), buy or sell, intraday or delivery."""
    v = np.atleast_1d(np.asarray(value, dtype=np.float64))
    intra = np.broadcast_to(np.asarray(intraday, dtype=bool), v.shape)
    brokerage = np.where(
        intra,
        np.minimum(v * rates.brokerage_intraday_pct * _PCT, rates.brokerage_intraday_max),
        np.minimum(v * rates.brokerage_delivery_pct * _PCT, rates.brokerage_delivery_max),
    )
    if side == "buy":
        stt = np.where(intra, 0.0, v * rates.stt_delivery_pct * _PCT)
        stamp = v * np.where(intra, rates.stamp_intraday_buy_pct, rates.stamp_delivery_buy_pct) * _PCT
        dp = np.zeros_like(v)
    elif side == "sell":
        stt = v * np.where(intra, rates.stt_intraday_sell_pct, rates.stt_delivery_pct) * _PCT
        stamp = np.zeros_like(v)
        dp = np.where(intra | (v <= 0), 0.0, rates.dp_charge_per_delivery_sell)
    else:
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    exchange = v * rates.exchange_txn_pct * _PCT
    sebi = v * rates.sebi_fee_per_crore / _CRORE
    gst = (brokerage + exchange + sebi) * rates.gst_pct * _PCT
    # An order of zero value was never placed, so it pays nothing (not even the flat brokerage).
    placed = v > 0
    parts = {"brokerage": brokerage, "stt": stt, "exchange": exchange, "sebi": sebi, "stamp": stamp, "gst": gst}
    return CostBreakdown(**{k: np.where(placed, a, 0.0) for k, a in parts.items()}, dp=dp)


def round_trip_costs(
    buy_value: npt.ArrayLike, sell_value: npt.ArrayLike, *, intraday: npt.ArrayLike, rates: CostRates
) -> CostBreakdown:
    """Charges on a buy of ``buy_value`` and its sell of ``sell_value`` rupees, both legs added."""
    return leg_costs(buy_value, side="buy", intraday=intraday, rates=rates) + leg_costs(
        sell_value, side="sell", intraday=intraday, rates=rates
    )


def apply_slippage(price: npt.ArrayLike, *, side: Side, rates: CostRates) -> FloatArray:
    """The fill price: ``slippage_bps`` worse than ``price`` (higher for a buy, lower for a sell)."""
    p = np.asarray(price, dtype=np.float64)
    sign = {"buy": 1.0, "sell": -1.0}.get(side)
    if sign is None:
        raise ValueError(f"side must be 'buy' or 'sell', got {side!r}")
    return p * (1.0 + sign * rates.slippage_bps / 10_000.0)
