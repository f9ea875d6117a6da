from __future__ import annotations

import numpy as np
import pytest

from backtesting.costs import CostRates, apply_slippage, leg_costs, round_trip_costs

RATES = CostRates()
LAKH = 100_000.0


def test_delivery_buy_of_one_lakh_pays_stt_stamp_exchange_sebi_and_gst() -> None:
    c = leg_costs(LAKH, side="buy", intraday=False, rates=RATES)
    assert c.brokerage[0] == pytest.approx(0.0)  # delivery is brokerage-free by default
    assert c.stt[0] == pytest.approx(100.0)  # 0.1% of 1,00,000
    assert c.exchange[0] == pytest.approx(2.97)  # Rs 2.97 per lakh
    assert c.sebi[0] == pytest.approx(0.10)  # Rs 10 per crore = Rs 0.10 per lakh
    assert c.stamp[0] == pytest.approx(15.0)  # 0.015% on the buy
    assert c.gst[0] == pytest.approx(0.18 * (0.0 + 2.97 + 0.10))
    assert c.total[0] == pytest.approx(100.0 + 2.97 + 0.10 + 15.0 + 0.5526)


def test_delivery_sell_pays_stt_but_no_stamp_duty() -> None:
    c = leg_costs(LAKH, side="sell", intraday=False, rates=RATES)
    assert c.stt[0] == pytest.approx(100.0)
    assert c.stamp[0] == 0.0
    assert c.total[0] == pytest.approx(100.0 + 2.97 + 0.10 + 0.5526)


def test_intraday_brokerage_is_rs_20_or_003_percent_whichever_is_lower() -> None:
    c = leg_costs(np.array([LAKH, 10_000.0]), side="buy", intraday=True, rates=RATES)
    # 0.03% of 1,00,000 is Rs 30 -> capped at Rs 20; of 10,000 it is Rs 3.
    np.testing.assert_allclose(c.brokerage, [20.0, 3.0])


def test_intraday_buy_pays_no_stt_and_the_lower_stamp_duty() -> None:
    c = leg_costs(LAKH, side="buy", intraday=True, rates=RATES)
    assert c.stt[0] == 0.0
    assert c.stamp[0] == pytest.approx(3.0)  # 0.003% of 1,00,000
    assert c.gst[0] == pytest.approx(0.18 * (20.0 + 2.97 + 0.10))
    assert c.total[0] == pytest.approx(20.0 + 2.97 + 0.10 + 3.0 + 4.1526)


def test_intraday_sell_pays_stt_of_0025_percent() -> None:
    c = leg_costs(LAKH, side="sell", intraday=True, rates=RATES)
    assert c.stt[0] == pytest.approx(25.0)
    assert c.stamp[0] == 0.0
    assert c.total[0] == pytest.approx(20.0 + 25.0 + 2.97 + 0.10 + 4.1526)


def test_round_trip_adds_both_legs_per_product() -> None:
    intraday = round_trip_costs(LAKH, 1.1 * LAKH, intraday=True, rates=RATES).total[0]
    delivery = round_trip_costs(LAKH, 1.1 * LAKH, intraday=False, rates=RATES).total[0]
    # intraday: buy 30.2226; sell of 1,10,000: 20 + 27.5 STT + 3.267 + 0.11 + GST 0.18 x 23.377
    assert intraday == pytest.approx(30.2226 + 20.0 + 27.5 + 3.267 + 0.11 + 0.18 * 23.377)
    # delivery: buy 118.6226; sell: 110 STT + 3.267 + 0.11 + GST 0.18 x 3.377
    assert delivery == pytest.approx(118.6226 + 110.0 + 3.267 + 0.11 + 0.18 * 3.377)
    assert delivery > 2.5 * intraday


def test_product_is_chosen_per_trade_in_one_call() -> None:
    c = round_trip_costs(np.array([LAKH, LAKH]), np.array([LAKH, LAKH]), intraday=np.array([True, False]), rates=RATES)
    np.testing.assert_allclose(c.stt, [25.0, 200.0])
    np.testing.assert_allclose(c.stamp, [3.0, 15.0])


def test_an_order_of_zero_value_costs_nothing() -> None:
    c = round_trip_costs(0.0, 0.0, intraday=True, rates=CostRates(dp_charge_per_delivery_sell=15.0))
    assert c.total[0] == 0.0


def test_every_rate_is_configurable() -> None:
    rates = CostRates(
        brokerage_delivery_pct=0.1,
        brokerage_delivery_max=50.0,
        exchange_txn_pct=0.00325,
        sebi_fee_per_crore=5.0,
        gst_pct=0.0,
        dp_charge_per_delivery_sell=15.34,
    )
    buy = leg_costs(LAKH, side="buy", intraday=False, rates=rates)
    sell = leg_costs(LAKH, side="sell", intraday=False, rates=rates)
    assert buy.brokerage[0] == pytest.approx(50.0)  # 0.1% = Rs 100, capped at Rs 50
    assert buy.exchange[0] == pytest.approx(3.25)
    assert buy.sebi[0] == pytest.approx(0.05)
    assert buy.gst[0] == 0.0
    assert buy.dp[0] == 0.0
    assert sell.dp[0] == pytest.approx(15.34)


def test_negative_rates_are_rejected() -> None:
    with pytest.raises(ValueError, match="stt_delivery_pct"):
        CostRates(stt_delivery_pct=-0.1)


def test_slippage_makes_buys_dearer_and_sells_cheaper() -> None:
    rates = CostRates(slippage_bps=10.0)
    assert apply_slippage(100.0, side="buy", rates=rates) == pytest.approx(100.10)
    assert apply_slippage(100.0, side="sell", rates=rates) == pytest.approx(99.90)


def test_buy_cost_bound_covers_the_actual_buy_costs() -> None:
    values = np.array([500.0, 10_000.0, LAKH, 1e7])
    for intraday in (True, False):
        actual = leg_costs(values, side="buy", intraday=intraday, rates=RATES).total
        assert np.all(actual <= values * RATES.buy_cost_rate_bound(intraday=intraday) + 1e-9)
