"""Exchange band files parsed into (symbol, series, band, effective_from), and refused when wrong."""

from __future__ import annotations

import datetime as dt

import pytest

from marketdata.bandfiles import BandFileError, band_value, parse_band_file

NSE_LIST = b"""Symbol,Series,Security Name,Band,Remarks
20MICRONS,EQ,20 Microns Limited,20,
RELIANCE,EQ,Reliance Industries Limited,No Band,
ZODIAC,BE,Zodiac Ventures Limited,5,
"""
NSE_CHANGES = b"""Sr.No.,Symbol,Series,Security Name,From,To
1,ZODIAC,BE,Zodiac Ventures Limited,5,2
2,20MICRONS,EQ,20 Microns Limited,20,10
"""
BSE_CIRCUIT = b"""Scrip Code,Scrip Name,Group,Circuit Filter (%)
500325,RELIANCE,A,No Band
531404,SIKOZY,X,5.00
"""


def test_the_nse_list_is_dated_by_its_file_name() -> None:
    parsed = parse_band_file(NSE_LIST, filename="sec_list_01082024.csv")
    assert (parsed.layout, parsed.exchange) == ("nse_band_list", "NSE")
    rows = parsed.frame.to_dict("records")
    assert [(r["symbol"], r["series"], r["band"]) for r in rows] == [
        ("20MICRONS", "EQ", 20),
        ("RELIANCE", "EQ", 0),
        ("ZODIAC", "BE", 5),
    ]
    assert {r["effective_from"] for r in rows} == {dt.date(2024, 8, 1)}


def test_band_changes_take_the_new_band_and_an_explicit_date_wins() -> None:
    parsed = parse_band_file(NSE_CHANGES, filename="eq_band_changes_02082024.csv", effective_from=dt.date(2024, 8, 5))
    assert parsed.layout == "nse_band_changes"
    assert parsed.frame[["symbol", "band"]].values.tolist() == [["ZODIAC", 2], ["20MICRONS", 10]]
    assert set(parsed.frame["effective_from"]) == {dt.date(2024, 8, 5)}


def test_the_bse_circuit_list_keys_bands_by_scrip_code() -> None:
    parsed = parse_band_file(BSE_CIRCUIT, filename="circuit.csv", effective_from=dt.date(2024, 8, 1))
    assert (parsed.layout, parsed.exchange) == ("bse_circuit", "BSE")
    assert parsed.frame[["symbol", "series", "band"]].values.tolist() == [["500325", "A", 0], ["531404", "X", 5]]


@pytest.mark.parametrize("text", ["7", "0", "-5", "150", "2.5", "twenty"])
def test_a_band_no_exchange_uses_is_impossible(text: str) -> None:
    assert band_value(text) is None


def test_an_impossible_band_refuses_the_whole_file_naming_the_rows() -> None:
    bad = NSE_LIST + b"PENNY,BE,Penny Limited,7,\n"
    with pytest.raises(BandFileError, match=r"1 rows have a band no exchange uses .*PENNY: '7'"):
        parse_band_file(bad, filename="sec_list_01082024.csv")


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "sec_list_01082024.csv", "is empty"),
        (b"<html><body>Access Denied</body></html>", "sec_list_01082024.csv", "an HTML page"),
        (b"SYMBOL,OPEN,HIGH\nA,1,2\n", "sec_list_01082024.csv", "no band file this platform reads"),
        (NSE_LIST, "bands.csv", "carries no date"),
        (NSE_LIST + b"ZODIAC,BE,Zodiac Ventures Limited,10,\n", "sec_list_01082024.csv", "appear twice"),
    ],
)
def test_junk_is_refused_with_the_reason(data: bytes, filename: str, message: str) -> None:
    with pytest.raises(BandFileError, match=message):
        parse_band_file(data, filename=filename)
