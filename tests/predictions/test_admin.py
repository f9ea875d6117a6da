from __future__ import annotations

import pytest
from django.test import Client

from modelregistry.models import ModelVersion
from predictions import services
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
