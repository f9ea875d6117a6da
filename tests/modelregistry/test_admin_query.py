"""Admin views validate their query strings: bad ids are a 400 page with a message, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import register_version

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("ids", ["²", "1,²", "\u0661", "9" * 40, ",".join(["1"] * 60), "abc"])
def test_compare_refuses_ids_that_are_not_ascii_digits(admin_client: Client, ids: str) -> None:
    response = admin_client.get("/admin/modelregistry/modelversion/compare/", {"ids": ids})
    assert response.status_code == 400
    assert "comma-separated digits" in response.content.decode()


def test_compare_shows_the_versions_asked_for(admin_client: Client) -> None:
    a, b = register_version(), register_version(seed=1)
    response = admin_client.get("/admin/modelregistry/modelversion/compare/", {"ids": f"{a.pk},{b.pk}"})
    assert response.status_code == 200
    assert list(response.context["versions"]) == [a, b]
