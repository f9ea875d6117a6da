"""The monthly challenger: trained once per window, promoted only through the gate, always recorded."""

from __future__ import annotations

import datetime as dt

import pytest

from marketdata.services import bars_upsert
from marketdata.synthetic import generate_market
from modelregistry.choices import PromotionAction
from modelregistry.models import ModelVersion, PromotionEvent
from modelregistry.services import RegistryError, challenger_train
from modelregistry.tasks import train_challenger_monthly
from vcp_platform.celery import BEAT_SCHEDULE

pytestmark = pytest.mark.django_db


def test_the_challenger_is_scheduled_monthly() -> None:
    entry = BEAT_SCHEDULE["train-challenger-monthly"]
    assert entry["task"] == train_challenger_monthly.name
    assert entry["schedule"].day_of_month == {1}


def test_challenger_trains_once_and_records_the_gate_decision(settings: object, eager_celery: None) -> None:
    settings.VCP_CHALLENGER_VALID_SESSIONS = 20  # type: ignore[attr-defined]
    synthetic = generate_market(stocks=80, days=420, seed=3, end=dt.date(2024, 6, 28))
    bars_upsert(frame=synthetic.bars, exchange="NSE")
    first = train_challenger_monthly.delay().get()
    version = ModelVersion.objects.get()
    assert first["trained"] is True
    assert version.training_config["purpose"] == "challenger"
    assert version.test_end == dt.date(2024, 6, 28)
    events = PromotionEvent.objects.filter(model_version=version).exclude(action=PromotionAction.REGISTER)
    decision = events.get()
    assert decision.action == (PromotionAction.PROMOTE if first["promoted"] else PromotionAction.REFUSE)
    assert decision.actor == "system"
    assert first["reason"] in decision.reason
    # Idempotent: the same month's challenger is reused, never trained twice.
    again = train_challenger_monthly.delay().get()
    assert again["trained"] is False
    assert ModelVersion.objects.count() == 1


def test_challenger_refuses_a_short_history() -> None:
    synthetic = generate_market(stocks=10, days=120, seed=1, end=dt.date(2024, 6, 28))
    bars_upsert(frame=synthetic.bars, exchange="NSE")
    with pytest.raises(RegistryError, match=r"needs at least .* stored trading days"):
        challenger_train()
    assert not ModelVersion.objects.exists()
