from __future__ import annotations

import pytest

from marketdata.models import DailyBar, Instrument
from predictions.lookups import instruments_resolve, latest_bar_dates, lookups_clear, market_dates
from tests.factories import DailyBarFactory, InstrumentFactory
from tests.predictions.conftest import Market

pytestmark = pytest.mark.django_db


def test_market_dates_are_the_stored_trading_dates_up_to_the_end(market: Market) -> None:
    expected = sorted(set(DailyBar.objects.values_list("date", flat=True)))
    assert list(market_dates(end=market.last, count=10)) == expected[-10:]
    assert list(market_dates(end=market.dates[5], count=100)) == expected[:6]
    assert market_dates(end=market.dates[0].replace(year=2000), count=5) == ()


def test_a_symbol_without_exchange_resolves_to_nse_before_bse() -> None:
    bse = InstrumentFactory(symbol="TWIN", exchange="BSE")
    nse = InstrumentFactory(symbol="TWIN", exchange="NSE")
    only_bse = InstrumentFactory(symbol="500325", exchange="BSE")
    refs = instruments_resolve(
        requests=[("twin ", None), ("TWIN", "BSE"), ("500325", None), ("500325", "NSE"), ("NOPE", None)]
    )
    assert [r.id if r else None for r in refs] == [nse.pk, bse.pk, only_bse.pk, None, None]


def test_latest_dates_are_cached_until_cleared() -> None:
    bar = DailyBarFactory()
    assert latest_bar_dates(instrument_ids=[bar.instrument_id]) == {bar.instrument_id: bar.date}
    DailyBarFactory(instrument=bar.instrument, date=bar.date.replace(day=2))
    assert latest_bar_dates(instrument_ids=[bar.instrument_id]) == {bar.instrument_id: bar.date}
    lookups_clear()
    assert latest_bar_dates(instrument_ids=[bar.instrument_id])[bar.instrument_id] == bar.date.replace(day=2)


def test_resolved_instruments_are_cached_until_cleared() -> None:
    instrument = InstrumentFactory()
    assert instruments_resolve(requests=[(instrument.symbol, None)])[0] is not None
    Instrument.objects.all().delete()
    assert instruments_resolve(requests=[(instrument.symbol, None)])[0] is not None  # within the minute
    lookups_clear()
    assert instruments_resolve(requests=[(instrument.symbol, None)])[0] is None
