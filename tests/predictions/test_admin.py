from __future__ import annotations

import pytest
from django.test import Client

from modelregistry.models import ModelVersion
from predictions import services
from predictions.models import Prediction
from tests.predictions.conftest import Market

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["batchrun", "prediction", "featuresnapshot"])
def test_staff_see_batch_results_in_admin_but_cannot_edit_them(
    admin_client: Client, market: Market, production: ModelVersion, model: str
) -> None:
    run = services.batch_run_inline(date=market.last)
    listing = admin_client.get(f"/admin/predictions/{model}/")
    assert listing.status_code == 200
    assert str(market.last.year) in listing.content.decode()
    assert admin_client.get(f"/admin/predictions/{model}/add/").status_code == 403
    if model == "batchrun":
        detail = admin_client.get(f"/admin/predictions/batchrun/{run.pk}/change/")
        assert detail.status_code == 200
        assert run.export_path in detail.content.decode()


def test_prediction_probabilities_show_four_decimals_in_admin(
    admin_client: Client, market: Market, production: ModelVersion
) -> None:
    services.batch_run_inline(date=market.last)
    prediction = Prediction.objects.order_by("rank").first()
    assert prediction is not None
    raw = repr(prediction.probability)
    listing = admin_client.get("/admin/predictions/prediction/").content.decode()
    assert f"{prediction.probability:.4f}" in listing
    detail = admin_client.get(f"/admin/predictions/prediction/{prediction.pk}/change/").content.decode()
    assert f"{prediction.probability:.4f}" in detail
    assert f"{prediction.threshold:.4f}" in detail
    if len(raw) > 8:  # the raw float has more digits than the rounded one: it is not shown
        assert raw not in listing
        assert raw not in detail
