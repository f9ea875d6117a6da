"""Staff forms that start a backtest or a comparison of two registered versions on the workers."""

from __future__ import annotations

from typing import Any

from django import forms

from backtesting.caveats import in_sample_overlap, out_of_sample_from
from modelregistry.models import ModelVersion
from modelregistry.selectors import model_version_list

__all__ = ["BacktestForm", "ComparisonForm", "in_sample_overlap", "version_field"]


class _VersionChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: ModelVersion) -> str:
        valid = f", validated to {obj.valid_end}" if obj.valid_end else ""
        return (
            f"{obj.label} ({obj.algorithm}, {obj.status}): trained {obj.train_start} to {obj.train_end}{valid}; "
            f"out-of-sample from {out_of_sample_from(obj)}"
        )


def version_field(label: str) -> _VersionChoice:
    return _VersionChoice(queryset=model_version_list(), label=label)


class _PeriodForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data


class BacktestForm(_PeriodForm):
    version = version_field("Model version")
    field_order = ["version", "start", "end"]


class ComparisonForm(_PeriodForm):
    version_a = version_field("Version A")
    version_b = version_field("Version B")
    field_order = ["version_a", "version_b", "start", "end"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("version_a") and data.get("version_a") == data.get("version_b"):
            raise forms.ValidationError("Choose two different versions.")
        return data
