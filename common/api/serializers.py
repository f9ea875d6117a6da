"""Serializers every API shares: strict request bodies and the one error shape."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

MAX_ID = 2**63 - 1  # PostgreSQL bigint: a larger id must be a 400/404, not a database error


class StrictSerializer(serializers.Serializer):
    """Refuses unknown keys, so a misspelt field is an error rather than silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. unknown_symbol.")
    message = serializers.CharField()
    details = serializers.DictField(help_text="Field errors under 'fields'; other context by code.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()
