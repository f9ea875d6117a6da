"""Versioned models and their append-only promotion history."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from modelregistry.choices import DEFAULT_MODEL_NAME, Algorithm, PromotionAction, VersionStatus


class ModelVersion(models.Model):
    """One trained model: its artifacts, test metrics, threshold and frozen drift reference.

    Status changes only through the services (promote / rollback / archive), never by editing.
    """

    name = models.CharField(max_length=64, default=DEFAULT_MODEL_NAME)
    version = models.PositiveIntegerField(help_text="Auto-incremented per name.")
    algorithm = models.CharField(max_length=16, choices=Algorithm.choices)
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.CANDIDATE)
    artifact_uri = models.CharField(max_length=500, help_text="Directory of the version in the artifact store.")
    checksums = models.JSONField(default=dict, help_text="sha256 per artifact file.")
    metrics = models.JSONField(default=dict, help_text="Test-period metrics, with baselines on the same days.")
    threshold = models.FloatField()
    new_circuit_threshold = models.FloatField(
        null=True, blank=True, help_text="Decision threshold of the new-circuit ranking (stocks not locked today)."
    )
    horizon = models.PositiveSmallIntegerField(default=1)
    feature_names = models.JSONField(default=list)
    feature_set_hash = models.CharField(max_length=64)
    train_start = models.DateField()
    train_end = models.DateField()
    valid_end = models.DateField(null=True, blank=True)
    test_end = models.DateField(null=True, blank=True)
    data_fingerprint = models.CharField(max_length=64, blank=True)
    training_config = models.JSONField(default=dict, blank=True)
    reference = models.JSONField(default=dict, blank=True, help_text="Frozen per-feature bins for drift checks.")
    refit_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refits",
        help_text="The validated version whose recipe this production refit reuses; its test metrics are the evidence.",
    )
    previous_production = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The version this one replaced in production: the rollback target.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True, help_text="Set when rolled back out of production.")

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="modelversion_unique_name_version"),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(status=VersionStatus.PRODUCTION),
                name="modelversion_one_production_per_name",
            ),
        ]
        indexes = [models.Index(fields=["name", "status"], name="modelversion_name_status")]
        permissions = [("promote_modelversion", "Can promote, roll back and archive model versions")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} ({self.algorithm}, {self.status})"

    def metric(self, key: str, *, part: str = "all", scorer: str = "model") -> float | None:
        """One test metric from ``metrics`` (the shape of ``evaluation.evaluate``).

        ``part``: "all", "new_circuits" (stocks that did not hit a circuit that day), "series_eq" or
        "series_other". ``scorer``: "model" or a baseline, "hit_today" / "momentum_top_k".
        ``precision_at_k`` reads the version's own k.
        """
        section: dict[str, Any] = self.metrics.get(part) or {}
        block: dict[str, Any] = (
            section.get("model") or {} if scorer == "model" else (section.get("baselines") or {}).get(scorer) or {}
        )
        if key == "precision_at_k":
            key = f"precision_at_{self.metrics.get('k', 20)}"
        value = block.get(key)
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"


class PromotionEvent(models.Model):
    """Append-only audit of every registry state change."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="events")
    replaced_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The production version this action took out of production, if any.",
    )
    name = models.CharField(max_length=64)
    action = models.CharField(max_length=16, choices=PromotionAction.choices)
    from_status = models.CharField(max_length=16, choices=VersionStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=VersionStatus.choices)
    actor = models.CharField(max_length=150, help_text='Username, or "system" for automatic actions.')
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField()
    metrics_snapshot = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["name", "-created_at"], name="promotionevent_name_time")]

    def __str__(self) -> str:
        return f"{self.action} {self.model_version} by {self.actor}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("PromotionEvent is append-only: events cannot be edited")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("PromotionEvent is append-only: events cannot be deleted")
