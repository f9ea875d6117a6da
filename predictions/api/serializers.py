"""Input and output serializers of the prediction API.

Inputs validate; outputs document. The /predict and /batch_predict responses are built as plain
dicts by ``serving.served_as_dict`` (serializing them through DRF would cost more than the model
does), and the output serializers here describe exactly that shape for the schema.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.api.serializers import MAX_ID, ErrorBodySerializer, StrictSerializer
from features import spec
from marketdata.choices import Exchange
from predictions.models import Prediction
from predictions.selectors import ORDERINGS

FLOAT32_MAX = float(np.finfo(np.float32).max)


class FiniteFloatField(serializers.FloatField):
    """A JSON number the model can take: no strings, booleans, NaN or Infinity, and within float32 range."""

    default_error_messages = {
        "invalid": "A finite number is required (NaN and Infinity are not allowed).",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", -FLOAT32_MAX)
        kwargs.setdefault("max_value", FLOAT32_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        try:
            value = float(data)
        except OverflowError:
            self.fail("invalid")
        if not math.isfinite(value):
            self.fail("invalid")
        return value


SYMBOL_PATTERN = r"^[A-Za-z0-9&._-]{1,64}$"


class SymbolField(serializers.RegexField):
    """Letters, digits and & . _ - (every NSE symbol and BSE code); case-insensitive, no padding."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("error_messages", {"invalid": "A symbol is 1-64 letters, digits or & . _ - characters."})
        super().__init__(SYMBOL_PATTERN, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):  # a BSE code sent as a JSON number is a client bug, not a symbol
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only (DRF's BooleanField also takes "yes", "1", 1...)."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


FeatureVectorSerializer = type(
    "FeatureVectorSerializer",
    (StrictSerializer,),
    {
        "__doc__": "All 25 VCP features by name (units in docs/features.md); every value a finite number.",
        **{f.name: FiniteFloatField(help_text=f"{f.description} ({f.unit}).") for f in spec.FEATURES},
    },
)


class PredictRequestSerializer(StrictSerializer):
    symbol = SymbolField(help_text="NSE ticker or BSE scrip code, e.g. RELIANCE, M&M, BAJAJ-AUTO, 500325.")
    exchange = serializers.ChoiceField(
        choices=Exchange.choices, required=False, allow_null=True, help_text="NSE or BSE; NSE first when omitted."
    )
    date = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="As-of date (features use bars up to its close). Default: the instrument's latest bar date.",
    )
    explain = StrictBooleanField(default=False, help_text="Add the top 5 feature contributions (log-odds).")
    features = FeatureVectorSerializer(
        required=False, help_text="A what-if feature vector scored instead of the stored data (all 25 names)."
    )


class BatchItemSerializer(StrictSerializer):
    symbol = SymbolField()
    exchange = serializers.ChoiceField(choices=Exchange.choices, required=False, allow_null=True)
    date = serializers.DateField(required=False, allow_null=True)


class BatchPredictRequestSerializer(StrictSerializer):
    items = serializers.ListField(
        child=BatchItemSerializer(),
        min_length=1,
        max_length=settings.VCP_BATCH_PREDICT_LIMIT,
        help_text="Up to VCP_BATCH_PREDICT_LIMIT items (default 1,000); one bad item does not fail the others.",
    )
    explain = StrictBooleanField(default=False)

    def validate_items(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        limit = settings.VCP_BATCH_PREDICT_LIMIT
        if len(value) > limit:
            raise serializers.ValidationError(f"At most {limit} items per request.")
        return value


class ModelRefSerializer(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()


class ContributionSerializer(serializers.Serializer):
    feature = serializers.CharField()
    value = serializers.FloatField(allow_null=True, help_text="The row's feature value; null where missing.")
    contribution = serializers.FloatField(help_text="Push on the score in log-odds, before calibration.")


class PredictionResponseSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    exchange = serializers.CharField()
    date = serializers.DateField(allow_null=True, help_text="As-of date; null for a what-if without a date.")
    probability = serializers.FloatField(
        help_text="Calibrated probability that the stock closes locked at its upper circuit next trading day."
    )
    will_hit_upper_circuit = serializers.BooleanField(help_text="probability >= threshold.")
    threshold = serializers.FloatField()
    new_circuit_probability = serializers.FloatField(
        allow_null=True,
        help_text="The same probability for a stock NOT locked today (a fresh candidate); null when it is locked.",
    )
    will_hit_new_circuit = serializers.BooleanField(
        help_text="A fresh candidate above the new-circuit threshold (chosen on the validation period)."
    )
    strict_probability = serializers.FloatField(
        help_text="The probability where a lock tomorrow would be a round 2/5/10/20% move (the strict rule), else 0."
    )
    model = ModelRefSerializer()
    served_from = serializers.ChoiceField(
        choices=["cache", "snapshot", "computed", "what_if"],
        help_text="Where the features came from (computed: from stored bars, with rs_rank63 missing).",
    )
    explanation = ContributionSerializer(many=True, required=False, help_text="Only with explain: true.")


class BatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the request.")
    symbol = serializers.CharField()
    prediction = PredictionResponseSerializer(required=False)
    error = ErrorBodySerializer(required=False)


class BatchPredictResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BatchResultSerializer(many=True)


class PredictionListQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=False, help_text="Default: the latest date with predictions.")
    min_probability = serializers.FloatField(required=False, min_value=0.0, max_value=1.0)
    model_version = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="ModelVersion id (default: production)."
    )
    series = serializers.RegexField(
        r"^[A-Za-z0-9]{1,4}$", required=False, trim_whitespace=False, help_text="e.g. EQ, BE, SM (any case)."
    )
    will_hit = serializers.BooleanField(required=False, help_text="Only positive (true) or negative (false) decisions.")
    fresh = serializers.BooleanField(
        required=False,
        help_text="true: only fresh candidates (not locked today), ordered by new_circuit_probability unless "
        "ordering says otherwise; false: only streak continuations.",
    )
    ordering = serializers.ChoiceField(choices=list(ORDERINGS), default="rank")


class RankedPredictionSerializer(serializers.ModelSerializer[Prediction]):
    symbol = serializers.CharField(source="instrument.symbol")
    exchange = serializers.CharField(source="instrument.exchange")
    will_hit_upper_circuit = serializers.BooleanField(source="will_hit")
    will_hit_new_circuit = serializers.BooleanField(source="will_hit_new")
    model = serializers.SerializerMethodField()

    class Meta:
        model = Prediction
        fields = (
            "rank",
            "symbol",
            "exchange",
            "series",
            "date",
            "probability",
            "will_hit_upper_circuit",
            "threshold",
            "new_circuit_probability",
            "will_hit_new_circuit",
            "strict_probability",
            "model",
        )

    @extend_schema_field(ModelRefSerializer)
    def get_model(self, obj: Prediction) -> dict[str, Any]:
        return {"name": obj.model_version.name, "version": obj.model_version.version}


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField()


class CheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    state = serializers.ChoiceField(choices=["ok", "unavailable"])
    detail = serializers.CharField(required=False, help_text="Staff only: the reason, e.g. the driver's error.")


class ReadySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["ready", "degraded"], help_text="degraded: ready, but the shared cache (Redis) is unavailable."
    )
    checks = serializers.DictField(child=CheckSerializer())
    cache = serializers.DictField(
        required=False, help_text="Staff only: this process's cache hits and misses: {tier: {kind: {hits, misses}}}."
    )
