"""``{% ranked_candidates %}``: the staff dashboard's "today's ranked candidates", read through the
selectors, so the dashboard view itself needs no change to show them."""

from __future__ import annotations

from typing import Any

from django import template

from monitoring.selectors import batch_run_latest
from predictions.selectors import predictions_ranked

register = template.Library()

TOP_ALL = 20
TOP_NEW = 10


@register.inclusion_tag("staff/_candidates.html")
def ranked_candidates(top: int = TOP_ALL, top_new: int = TOP_NEW) -> dict[str, Any]:
    """The latest batch's top ``top`` by probability and top ``top_new`` fresh (new-circuit) candidates."""
    batch = batch_run_latest()
    if batch is None or batch.model_version_id is None:
        return {"batch": batch, "top": [], "fresh": []}
    day, version_id = batch.date, batch.model_version_id
    by_probability = predictions_ranked(date=day, model_version_id=version_id, ordering="-probability")
    fresh = predictions_ranked(date=day, model_version_id=version_id, fresh=True, ordering="-new_circuit_probability")
    return {"batch": batch, "top": list(by_probability[:top]), "fresh": list(fresh[:top_new])}
