"""The GitHub Actions and GitLab CI pipelines validate against their published schemas and do what
docs/deployment.md says: lint, test with PostgreSQL and Redis services, build the image, push on a tag.

The schemas ship inside check-jsonschema's wheel (vendor.github-workflows, vendor.gitlab-ci): offline.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema
from jsonschema import Draft7Validator, validators

from tests.deploy.conftest import ROOT

GITHUB = ROOT / ".github" / "workflows" / "ci.yml"
GITLAB = ROOT / ".gitlab-ci.yml"


class _GitLabLoader(yaml.SafeLoader):
    """GitLab's !reference tag, kept as a plain list so the file parses."""


_GitLabLoader.add_constructor("!reference", lambda loader, node: loader.construct_sequence(node))


@pytest.fixture(scope="module")
def github() -> dict[str, Any]:
    return yaml.safe_load(GITHUB.read_text())


@pytest.fixture(scope="module")
def gitlab() -> dict[str, Any]:
    return yaml.load(GITLAB.read_text(), Loader=_GitLabLoader)


def _errors(document: dict[str, Any], schema_name: str) -> list[str]:
    schema = get_builtin_schema(schema_name)
    validator_class = validators.validator_for(schema, default=Draft7Validator)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_github_workflow_matches_the_published_schema() -> None:
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    document = yaml.safe_load(GITHUB.read_text())
    document["on"] = document.pop(True)
    assert not _errors(document, "vendor.github-workflows")


def test_gitlab_pipeline_matches_the_published_schema(gitlab: dict[str, Any]) -> None:
    assert not _errors(gitlab, "vendor.gitlab-ci")


def test_github_tests_run_against_postgresql_and_redis_services(github: dict[str, Any]) -> None:
    test = github["jobs"]["test"]
    assert {"postgres", "redis"} <= set(test["services"])
    assert test["services"]["postgres"]["image"].startswith("postgres:")
    assert test["env"]["DATABASE_URL"].startswith("postgres://")
    assert test["env"]["REDIS_URL"].startswith("redis://")
    assert any("pytest" in step.get("run", "") for step in test["steps"])
    lint = " ".join(step.get("run", "") for step in github["jobs"]["lint"]["steps"])
    assert "ruff check" in lint
    assert "ruff format --check" in lint
    assert "mypy" in lint


def test_github_builds_the_image_and_pushes_only_on_a_version_tag(github: dict[str, Any]) -> None:
    image = github["jobs"]["image"]
    assert set(image["needs"]) == {"lint", "test"}
    build = next(step for step in image["steps"] if step.get("uses", "").startswith("docker/build-push-action"))
    assert build["with"]["target"] == "full"
    assert build["with"]["push"] == "${{ startsWith(github.ref, 'refs/tags/v') }}"
    login = next(step for step in image["steps"] if step.get("uses", "").startswith("docker/login-action"))
    assert login["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert "v*" in github[True]["push"]["tags"]


def test_gitlab_tests_run_against_postgresql_and_redis_services(gitlab: dict[str, Any]) -> None:
    test = gitlab["test"]
    aliases = {service["alias"] for service in test["services"]}
    assert aliases == {"postgres", "redis"}
    assert test["variables"]["DATABASE_URL"].startswith("postgres://vcp:vcp@postgres:")
    assert test["variables"]["REDIS_URL"].startswith("redis://redis:")
    assert any("pytest" in line for line in test["script"])


def test_gitlab_pushes_only_from_tag_pipelines(gitlab: dict[str, Any]) -> None:
    jobs = {name: job for name, job in gitlab.items() if isinstance(job, dict)}
    pushing = [name for name, job in jobs.items() if "docker push" in str(job.get("script"))]
    assert pushing == ["release"]
    assert gitlab["release"]["rules"] == [{"if": "$CI_COMMIT_TAG"}]
    assert gitlab["build-image"]["rules"] == [{"if": "$CI_COMMIT_TAG == null"}]
    for name in ("build-image", "release"):
        assert "--target full" in " ".join(gitlab[name]["script"])
        assert set(gitlab[name]["needs"]) == {"lint", "test"}


def test_both_pipelines_install_what_make_test_installs() -> None:
    for path in (GITHUB, GITLAB):
        text = path.read_text()
        assert "requirements/dev.txt" in text
        assert "--no-deps -r requirements/dev-nodeps.txt" in text
