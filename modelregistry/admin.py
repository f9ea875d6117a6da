"""Registry admin: versions are read-only; state changes go through confirmation pages and services.

Promote, roll back and archive need ``modelregistry.promote_modelversion``. Staff without it see no
actions, and the confirmation URLs answer 403.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from common import tables
from common.admin import rounded
from common.formatting import ascii_int, fmt_number
from marketdata.selectors import latest_bar_date
from modelregistry import gate, selectors, services
from modelregistry.evaluation import truths_rows
from modelregistry.models import ModelVersion, PromotionEvent

PROMOTE_PERMISSION = "modelregistry.promote_modelversion"

# Test metrics shown in the confirmation and comparison pages, as (part, scorer, key, label).
COMPARED_METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("all", "model", "f1", "F1"),
    ("all", "model", "precision", "Precision"),
    ("all", "model", "recall", "Recall"),
    ("all", "model", "pr_auc", "PR-AUC"),
    ("all", "model", "roc_auc", "ROC-AUC"),
    ("all", "model", "precision_at_k", "Precision@k per day"),
    ("all", "hit_today", "pr_auc", "Baseline 'hit today': PR-AUC"),
    ("all", "hit_today", "f1", "Baseline 'hit today': F1"),
    ("all", "momentum_top_k", "pr_auc", "Baseline top-k momentum: PR-AUC"),
    ("new_circuits", "model", "pr_auc", "New circuits only: PR-AUC"),
    ("new_circuits", "model", "f1", "New circuits only: F1"),
    ("new_circuits", "momentum_top_k", "pr_auc", "New circuits, momentum baseline: PR-AUC"),
    ("series_eq", "model", "pr_auc", "Series EQ: PR-AUC"),
    ("series_eq", "hit_today", "pr_auc", "Series EQ, 'hit today': PR-AUC"),
)


def _metric_rows(versions: list[ModelVersion]) -> list[dict[str, Any]]:
    return [
        {"label": label, "values": [fmt_number(v.metric(key, part=part, scorer=scorer)) for v in versions]}
        for part, scorer, key, label in COMPARED_METRICS
    ]


def _truth_pr_auc(version: ModelVersion) -> dict[str, float | None]:
    """The model's PR-AUC per truth and slice ("Strict (...), new circuits": 0.41), from ``metrics["truths"]``."""
    return {row["title"]: row["pr_auc"][0] for row in truths_rows(version.metrics or {})}


def _side_by_side(version: ModelVersion, current: ModelVersion | None) -> dict[str, Any]:
    """The confirmation's table: ``version`` beside ``current`` (production now), with the three-truth
    PR-AUCs when recorded and a warning in words when ``version`` is worse on PR-AUC."""
    versions = [version] if current is None else [version, current]
    rows = _metric_rows(versions)
    truths = [_truth_pr_auc(v) for v in versions]
    for title in truths[0]:
        rows.append({"label": f"{title}: PR-AUC", "values": [fmt_number(t.get(title)) for t in truths]})
    warnings: list[str] = []
    if current is not None:
        ours, theirs = version.metric("pr_auc"), current.metric("pr_auc")
        if ours is not None and theirs is not None and ours < theirs:
            warnings.append(
                f"{version.label} is worse than {current.label} on test PR-AUC: {ours:.3f} against {theirs:.3f}. "
                "Their test periods may differ; compare them on the same days (Backtests, or "
                "manage.py compare_models) before you promote."
            )
        worse = [t for t in truths[0] if (truths[0][t] or 0.0) < (truths[1].get(t) or 0.0)]
        if worse:
            warnings.append(f"{version.label} is also below {current.label} on: " + "; ".join(worse) + ".")
    return {"versions": versions, "metrics": rows, "warnings": warnings}


SAME_DAYS_BOOTSTRAP = 200  # fewer resamples than the gate's 1,000: a page, not a decision
SAME_DAYS_CACHE_SECONDS = 3600


def _same_days(version: ModelVersion, current: ModelVersion | None) -> dict[str, Any] | None:
    """``version`` and production scored on the same latest sessions neither has seen (the promotion
    gate's comparison), with the deltas: the test metrics above come from each version's own test
    period, these from the same days. Cached per pair and latest bar date; never raises."""
    if current is None:
        return None
    key = f"vcp:admin:same-days:{version.pk}:{current.pk}:{latest_bar_date()}"
    cached = cache.get(key)
    if cached is not None:
        return dict(cached)
    try:
        verdict = gate.challenger_verdict(version, current, n_boot=SAME_DAYS_BOOTSTRAP)
    except Exception as exc:  # a page must render; say why the comparison is missing
        return {"error": f"could not score both versions on the same days: {exc}"}
    result: dict[str, Any] = {"sessions": verdict.sessions, "reason": verdict.reason, "rows": []}
    if verdict.candidate_pr_auc is not None and verdict.production_pr_auc is not None:
        result["window"] = f"{verdict.first_day} .. {verdict.last_day}, {verdict.rows:,} stock-days"
        result["rows"] = [
            {
                "label": "PR-AUC",
                "values": [fmt_number(verdict.candidate_pr_auc), fmt_number(verdict.production_pr_auc)],
            },
            {"label": "'Hit today' PR-AUC (same rows)", "values": [fmt_number(verdict.hit_today_pr_auc)] * 2},
        ]
        result["delta"] = (
            f"{verdict.vs_production:+.3f} (95% day-block interval {verdict.vs_production_low:+.3f} .. "
            f"{verdict.vs_production_high:+.3f})"
        )
    cache.set(key, result, SAME_DAYS_CACHE_SECONDS)
    return result


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="Required: recorded in the promotion history.",
        max_length=2000,
    )


class PromotionEventInline(admin.TabularInline[PromotionEvent, ModelVersion]):
    model = PromotionEvent
    fk_name = "model_version"
    extra = 0
    can_delete = False
    fields = ("created_at", "action", "from_status", "to_status", "actor", "reason", "replaced_version")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    # Seven short columns fit 1400 px beside admin's sidebar and filters (scripts/walkthrough.py checks
    # it); F1, precision@k, the validation end, the creation time and the other test metrics are on the
    # detail page.
    list_display = (
        "version_label",
        "algorithm",
        "status_badge",
        "pr_auc",
        "pr_auc_new",
        "baseline_pr_auc",
        "train_window",
    )
    list_display_links = ("version_label",)
    list_filter = ("name", "status", "algorithm")
    search_fields = ("name", "feature_set_hash")
    ordering = ("name", "-version")
    actions = ["promote_selected", "rollback_selected", "archive_selected", "compare_selected"]
    inlines = [PromotionEventInline]
    # The JSON blobs are shown as tables (metrics, training configuration) or a summary (reference:
    # thousands of bin edges); the thresholds with 4 decimals.
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("name", "version", "algorithm", "status"),
                    (rounded("threshold"), rounded("new_circuit_threshold")),
                    ("train_start", "train_end", "valid_end", "test_end"),
                    ("previous_production", "refit_of"),
                    ("created_by", "created_at", "promoted_at", "rolled_back_at"),
                )
            },
        ),
        ("Test metrics", {"fields": ("metrics_table", "truths_table")}),
        ("Training configuration", {"fields": ("training_config_table",)}),
        (
            "Artifacts and data",
            {
                "classes": ("collapse",),
                "fields": (
                    "artifact_uri",
                    "checksums_table",
                    "horizon",
                    "feature_set_hash",
                    "data_fingerprint",
                    "feature_names_list",
                    "reference_summary",
                ),
            },
        ),
    )
    readonly_fields = (
        rounded("threshold"),
        rounded("new_circuit_threshold"),
        "metrics_table",
        "truths_table",
        "training_config_table",
        "checksums_table",
        "feature_names_list",
        "reference_summary",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModelVersion]:
        # The list shows metrics, never the drift reference (hundreds of KB per version); the change
        # page's summary loads it on access.
        return super().get_queryset(request).defer(*selectors.HEAVY_FIELDS)

    # --- columns -------------------------------------------------------------------------------
    @admin.display(description="Version", ordering="version")
    def version_label(self, obj: ModelVersion) -> str:
        return obj.label

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: ModelVersion) -> str:
        colour = {"production": "#1a7f37", "candidate": "#9a6700", "archived": "#6e7781"}[obj.status]
        return format_html('<b style="color:{}">{}</b>', colour, obj.get_status_display())

    @admin.display(description="PR-AUC")
    def pr_auc(self, obj: ModelVersion) -> str:
        return fmt_number(obj.metric("pr_auc"))

    @admin.display(description="PR-AUC new")
    def pr_auc_new(self, obj: ModelVersion) -> str:
        return fmt_number(obj.metric("pr_auc", part="new_circuits"))

    @admin.display(description="Hit-today PR-AUC")
    def baseline_pr_auc(self, obj: ModelVersion) -> str:
        return fmt_number(obj.metric("pr_auc", scorer="hit_today"))

    @admin.display(description="Trained on", ordering="train_start")
    def train_window(self, obj: ModelVersion) -> str:
        return format_html('<span style="white-space:nowrap">{}<br>to {}</span>', obj.train_start, obj.train_end)

    # --- the detail page: JSON as tables ---------------------------------------------------------
    @admin.display(description="Test metrics")
    def metrics_table(self, obj: ModelVersion) -> str:
        return tables.html_table(
            ("Metric", obj.label), [(r["label"], r["values"][0]) for r in self._metric_rows([obj])]
        )

    @admin.display(description="Three truths")
    def truths_table(self, obj: ModelVersion) -> str:
        rows = truths_rows(obj.metrics or {})
        if not rows:
            return "not recorded for this version"
        return tables.html_table(
            ("Truth", "Positives", "PR-AUC model", "hit today", "count 5d", "P@k model", "hit today", "count 5d"),
            [
                (r["title"], r["positives"], *map(fmt_number, r["pr_auc"]), *map(fmt_number, r["precision_at_k"]))
                for r in rows
            ],
        )

    @admin.display(description="Training configuration")
    def training_config_table(self, obj: ModelVersion) -> str:
        return tables.html_table(("Setting", "Value"), tables.flatten(obj.training_config or {}))

    @admin.display(description="Checksums (sha256)")
    def checksums_table(self, obj: ModelVersion) -> str:
        return tables.html_table(("File", "sha256"), sorted((obj.checksums or {}).items()))

    @admin.display(description="Features, in order")
    def feature_names_list(self, obj: ModelVersion) -> str:
        return ", ".join(obj.feature_names or []) or "-"

    @admin.display(description="Drift reference")
    def reference_summary(self, obj: ModelVersion) -> str:
        features = (obj.reference or {}).get("features") or {}
        return f"{len(features)} features with frozen bins" if features else "none"

    # --- permissions: versions are created by training, changed only through services -------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not request.user.has_perm(PROMOTE_PERMISSION):
            for name in ("promote_selected", "rollback_selected", "archive_selected"):
                actions.pop(name, None)
        return actions

    # --- actions lead to confirmation pages ---------------------------------------------------
    def _confirm_one(self, request: HttpRequest, queryset: QuerySet[ModelVersion], view: str) -> HttpResponse | None:
        """Send a single selected version to the action's confirmation page (it asks for the reason)."""
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version for this action.", messages.WARNING)
            return None
        return HttpResponseRedirect(reverse(f"admin:modelregistry_modelversion_{view}", args=[queryset.get().pk]))

    @admin.action(description="Promote to production")
    def promote_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> HttpResponse | None:
        return self._confirm_one(request, queryset, "promote")

    @admin.action(description="Roll back to the previous production version")
    def rollback_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> HttpResponse | None:
        return self._confirm_one(request, queryset, "rollback")

    @admin.action(description="Archive")
    def archive_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> HttpResponse | None:
        return self._confirm_one(request, queryset, "archive")

    @admin.action(description="Compare selected versions side by side")
    def compare_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> HttpResponse:
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return HttpResponseRedirect(reverse("admin:modelregistry_modelversion_compare") + f"?ids={ids}")

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:pk>/promote/",
                self.admin_site.admin_view(self.promote_view),
                name="modelregistry_modelversion_promote",
            ),
            path(
                "<int:pk>/rollback/",
                self.admin_site.admin_view(self.rollback_view),
                name="modelregistry_modelversion_rollback",
            ),
            path(
                "<int:pk>/archive/",
                self.admin_site.admin_view(self.archive_view),
                name="modelregistry_modelversion_archive",
            ),
            path("compare/", self.admin_site.admin_view(self.compare_view), name="modelregistry_modelversion_compare"),
        ]
        return own + super().get_urls()

    def _confirm(
        self,
        request: HttpRequest,
        *,
        version: ModelVersion,
        title: str,
        summary: str,
        perform: Any,
        compare_with: ModelVersion | None = None,
        same_days: bool = False,
    ) -> HttpResponse:
        if not request.user.has_perm(PROMOTE_PERMISSION):
            raise PermissionDenied("You need the permission to promote, roll back and archive model versions.")
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = perform(form.cleaned_data["reason"])
            except services.RegistryError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"Done: {result.label} is now {result.get_status_display().lower()}.")
                return HttpResponseRedirect(reverse("admin:modelregistry_modelversion_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "summary": summary,
            "version": version,
            "form": form,
            "opts": self.model._meta,
            **_side_by_side(version, compare_with),
            "same_days": _same_days(version, compare_with) if same_days and request.method == "GET" else None,
        }
        return TemplateResponse(request, "admin/modelregistry/confirm_action.html", context)

    def promote_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(ModelVersion, pk=pk)
        current = selectors.model_version_production(name=version.name)
        summary = f"{version.label} becomes production" + (
            f"; {current.label} is archived and becomes its rollback target." if current else "."
        )
        return self._confirm(
            request,
            version=version,
            title=f"Promote {version.label}",
            summary=summary,
            perform=lambda reason: services.model_version_promote(version=version, actor=request.user, reason=reason),
            compare_with=current if current is not None and current.pk != version.pk else None,
            same_days=True,
        )

    def rollback_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(ModelVersion, pk=pk)
        current = selectors.model_version_production(name=version.name)
        target = current.previous_production if current else None
        summary = (
            f"{current.label} leaves production and {target.label} returns to it."
            if current and target
            else f"{version.name} has nothing to roll back to."
        )
        return self._confirm(
            request,
            version=target or version,
            compare_with=current if target else None,
            title=f"Roll back {version.name}",
            summary=summary,
            perform=lambda reason: services.model_version_rollback(
                name=version.name, actor=request.user, reason=reason
            ),
        )

    def archive_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = get_object_or_404(ModelVersion, pk=pk)
        return self._confirm(
            request,
            version=version,
            title=f"Archive {version.label}",
            summary=f"{version.label} is archived.",
            perform=lambda reason: services.model_version_archive(version=version, actor=request.user, reason=reason),
        )

    def _metric_rows(self, versions: list[ModelVersion]) -> list[dict[str, Any]]:
        return _metric_rows(versions)

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        raw_ids = request.GET.get("ids", "")
        parts = [part.strip() for part in raw_ids.split(",") if part.strip()]
        parsed = [ascii_int(part) for part in parts[:50]]
        ids = [pk for pk in parsed if pk is not None]
        status = 200
        if len(parts) > 50 or len(ids) != len(parsed):
            # "?ids=²" passed isdigit() and then failed int(): a 500. Bad ids are a 400 with a message.
            messages.error(request, "ids must be up to 50 model version ids, comma-separated digits (e.g. ?ids=3,4).")
            ids, status = [], 400
        versions = list(ModelVersion.objects.filter(pk__in=ids).order_by("name", "version"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Compare model versions",
            "versions": versions,
            "rows": self._metric_rows(versions),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/modelregistry/compare.html", context, status=status)


@admin.register(PromotionEvent)
class PromotionEventAdmin(admin.ModelAdmin[PromotionEvent]):
    """The promotion history: read-only, filterable per model name."""

    list_display = ("created_at", "name", "model_version", "action", "from_status", "to_status", "actor", "reason")
    list_filter = ("name", "action", "actor")
    search_fields = ("reason", "actor")
    date_hierarchy = "created_at"
    list_select_related = ("model_version",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PromotionEvent]:
        return super().get_queryset(request).defer(*selectors.model_version_heavy_fields())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
