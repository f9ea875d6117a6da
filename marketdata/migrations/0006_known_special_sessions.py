"""The special sessions known when this shipped: days NSE and BSE traded that XBOM lists as holidays.

The dates are written out here (not imported from marketdata.calendar) so that this migration keeps
meaning the same thing after the code changes.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

SOURCE = "data migration 0006_known_special_sessions"

SESSIONS: tuple[tuple[str, str, str], ...] = (
    ("2015-02-28", "budget", "Union Budget, Saturday: NSE and BSE held a full session."),
    ("2020-02-01", "budget", "Union Budget, Saturday: NSE and BSE held a full session."),
    ("2025-02-01", "budget", "Union Budget, Saturday: NSE and BSE held a full session."),
    ("2024-01-20", "dr_site", "Live trading session from the disaster-recovery site, Saturday."),
    ("2024-03-02", "dr_site", "Live trading session from the disaster-recovery site, Saturday."),
    ("2024-05-18", "dr_site", "Live trading session from the disaster-recovery site, Saturday."),
    ("2015-11-11", "muhurat", "Muhurat trading (Diwali evening)."),
    ("2016-10-30", "muhurat", "Muhurat trading (Diwali evening)."),
    ("2017-10-19", "muhurat", "Muhurat trading (Diwali evening)."),
    ("2018-11-07", "muhurat", "Muhurat trading (Diwali evening)."),
    ("2019-10-27", "muhurat", "Muhurat trading (Diwali evening)."),
    ("2020-11-14", "muhurat", "Muhurat trading (Diwali evening)."),
    ("2021-11-04", "muhurat", "Muhurat trading (Diwali evening)."),
    ("2022-10-24", "muhurat", "Muhurat trading (Diwali evening)."),
    ("2023-11-12", "muhurat", "Muhurat trading (Diwali evening)."),
    ("2024-11-01", "muhurat", "Muhurat trading (Diwali evening)."),
    ("2025-10-21", "muhurat", "Muhurat trading (Diwali evening)."),
)


def add_sessions(apps: Any, schema_editor: Any) -> None:
    TradingSession = apps.get_model("marketdata", "TradingSession")
    for day, kind, note in SESSIONS:
        TradingSession.objects.get_or_create(date=day, defaults={"kind": kind, "note": note, "source": SOURCE})


def remove_sessions(apps: Any, schema_editor: Any) -> None:
    TradingSession = apps.get_model("marketdata", "TradingSession")
    TradingSession.objects.filter(date__in=[day for day, _, _ in SESSIONS], source=SOURCE).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("marketdata", "0005_trading_session_fetch_run"),
    ]

    operations = [
        migrations.RunPython(add_sessions, remove_sessions),
    ]
