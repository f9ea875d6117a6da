"""page and page_size are ASCII digits only: Unicode digits pass str.isdigit() and then broke int()."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from common.formatting import ascii_int
from modelregistry.models import ModelVersion

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_serving_state")]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", 1),
        ("0042", 42),
        ("²", None),
        ("\u0661\u0662", None),
        ("", None),
        ("-1", None),
        ("1.0", None),
        ("9" * 19, None),
    ],
)
def test_ascii_int_takes_ascii_digits_only(raw: str, value: int | None) -> None:
    assert ascii_int(raw) == value


@pytest.mark.parametrize("param", ["page", "page_size"])
@pytest.mark.parametrize("raw", ["²", "\u0661", "\uff11", "9" * 40, " 1", "1e3"])
def test_unicode_or_huge_numbers_in_the_page_query_are_400(
    production: ModelVersion, client_api: APIClient, param: str, raw: str
) -> None:
    response = client_api.get("/api/v1/models", {param: raw})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"][param]
