"""Staff list, add and remove special trading sessions in admin; fetch runs are read-only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from marketdata.models import FetchRun, TradingSession
from marketdata.sessions import is_trading_session

pytestmark = pytest.mark.django_db

URL = "/admin/marketdata/tradingsession/"


def test_staff_list_the_special_sessions(admin_client: Client) -> None:
    page = admin_client.get(URL)
    assert page.status_code == 200
    assert b"2025-02-01" in page.content or b"Feb. 1, 2025" in page.content


def test_staff_add_a_session_and_the_calendar_reads_it(admin_client: Client) -> None:
    day = dt.date(2026, 3, 7)
    response = admin_client.post(f"{URL}add/", {"date": "2026-03-07", "kind": "manual", "note": "NSE circular 123"})
    assert response.status_code == 302, response.content[:2000]
    session = TradingSession.objects.get(date=day)
    assert (session.kind, session.note, session.source) == ("manual", "NSE circular 123", "admin: admin")
    assert is_trading_session(day)


def test_staff_remove_a_session(admin_client: Client) -> None:
    session = TradingSession.objects.get(date=dt.date(2024, 5, 18))
    response = admin_client.post(f"{URL}{session.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TradingSession.objects.filter(date=dt.date(2024, 5, 18)).exists()
    assert not is_trading_session(dt.date(2024, 5, 18))


def test_a_session_cannot_be_edited_in_place(admin_client: Client) -> None:
    session = TradingSession.objects.get(date=dt.date(2024, 5, 18))
    admin_client.post(f"{URL}{session.pk}/change/", {"date": "2024-05-19", "kind": "manual", "note": "x"})
    assert TradingSession.objects.get(pk=session.pk).date == dt.date(2024, 5, 18)


def test_fetch_runs_are_read_only(admin_client: Client) -> None:
    run = FetchRun.objects.create(exchange="NSE", trade_date=dt.date(2024, 8, 2), status="failed", error="HTTP 404")
    assert admin_client.get("/admin/marketdata/fetchrun/").status_code == 200
    assert admin_client.get("/admin/marketdata/fetchrun/add/").status_code == 403
    assert admin_client.get(f"/admin/marketdata/fetchrun/{run.pk}/change/").status_code == 200
