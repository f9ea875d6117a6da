"""The registry's read API: model versions, newest first, and one version by id."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import viewsets

from common.api.pagination import StrictPageNumberPagination
from common.api.schema import AUTH_ERRORS, BAD_QUERY, NOT_FOUND
from modelregistry import selectors
from modelregistry.api.schema import MODEL_VERSION_EXAMPLE
from modelregistry.api.serializers import ModelVersionSerializer
from modelregistry.models import ModelVersion


@extend_schema_view(
    list=extend_schema(
        operation_id="models_list",
        tags=["models"],
        summary="Model versions, newest first",
        responses={200: ModelVersionSerializer(many=True), 400: BAD_QUERY, 404: NOT_FOUND, **AUTH_ERRORS},
        examples=[OpenApiExample("Production version", value=MODEL_VERSION_EXAMPLE, response_only=True)],
    ),
    retrieve=extend_schema(
        operation_id="models_retrieve",
        tags=["models"],
        summary="One model version",
        responses={200: ModelVersionSerializer, 404: NOT_FOUND, **AUTH_ERRORS},
        examples=[OpenApiExample("Production version", value=MODEL_VERSION_EXAMPLE, response_only=True)],
    ),
)
class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet[ModelVersion]):
    serializer_class = ModelVersionSerializer
    pagination_class = StrictPageNumberPagination
    lookup_value_regex = r"[0-9]{1,18}"  # larger ids cannot exist and would overflow bigint

    def get_queryset(self) -> QuerySet[ModelVersion]:
        return selectors.model_version_list()
