"""The OpenAPI schema: builds without warnings, matches docs/openapi.yaml, and no input makes the API fail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode

from modelregistry.models import ModelVersion
from tests.predictions.conftest import Market
from vcp_platform.wsgi import application

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_the_schema_builds_without_warnings_and_matches_the_committed_copy(tmp_path: Path) -> None:
    generated = tmp_path / "openapi.yaml"
    # --fail-on-warn turns every drf-spectacular warning (an undocumented field, a guessed type) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(generated))
    assert generated.read_text() == COMMITTED.read_text(), (
        "docs/openapi.yaml is stale: regenerate it on PostgreSQL (`make docs-openapi`, or "
        "`DEBUG=1 DATABASE_URL=postgres://... .venv/bin/python manage.py spectacular --validate --fail-on-warn "
        "--file docs/openapi.yaml`): a schema generated on SQLite differs"
    )


def test_every_operation_documents_its_errors_and_an_example() -> None:
    import yaml

    spec = yaml.safe_load(COMMITTED.read_text())
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert responses["200"]["content"]["application/json"]["examples"], f"{method} {path}: no example"
            errors = [code for code in responses if code.startswith(("4", "5"))]
            for code in errors:
                assert responses[code]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
                assert responses[code]["content"]["application/json"]["examples"], (method, path, code)
            if path == "/api/v1/health":
                continue  # liveness: nothing to get wrong, nothing to refuse
            assert errors, f"{method} {path} documents no error response"
            if path != "/api/v1/health/ready":
                assert {"401", "429"} <= set(responses), (method, path)
    for operation in ("/api/v1/predict", "/api/v1/batch_predict"):
        assert spec["paths"][operation]["post"]["requestBody"]["content"]["application/json"]["examples"]


@pytest.fixture
def wsgi_app(db: None) -> Iterator[Any]:
    # A WSGI call ends with request_finished -> close_old_connections, which would close the test's
    # connection (and its transaction); Django's own test client unhooks it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_gets_a_server_error_or_breaks_the_schema(
    wsgi_app: Any, market: Market, production: ModelVersion, django_user_model: Any, mode: GenerationMode
) -> None:
    # schemathesis' own pytest plugin does not run under pytest 9 yet (it reads Function._nodeid), so each
    # operation gets a plain Hypothesis test over schemathesis' strategy, checked with all its default checks.
    user = django_user_model.objects.create(username="fuzzer")
    headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    api = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 7

    exercised = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=15, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def call(case: Any) -> None:
            case.call_and_validate(headers=headers)

        try:
            call()
        except Unsatisfiable:
            # Only in negative mode, for operations with nothing to get wrong (GET /health: no input at all).
            assert mode == GenerationMode.NEGATIVE, operation.label
            continue
        exercised += 1
    assert exercised >= 5
