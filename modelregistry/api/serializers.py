"""Output serializer of the registry's read API."""

from __future__ import annotations

from rest_framework import serializers

from modelregistry.models import ModelVersion


class ModelVersionSerializer(serializers.ModelSerializer[ModelVersion]):
    class Meta:
        model = ModelVersion
        fields = (
            "id",
            "name",
            "version",
            "algorithm",
            "status",
            "threshold",
            "horizon",
            "feature_names",
            "feature_set_hash",
            "metrics",
            "train_start",
            "train_end",
            "valid_end",
            "test_end",
            "created_at",
            "promoted_at",
            "rolled_back_at",
        )
        read_only_fields = fields
