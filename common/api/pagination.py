"""Page-number pagination that refuses a malformed ``page`` or ``page_size`` instead of ignoring it.

DRF falls back to page 1 and the default size on a bad value, so a client's typo silently returns
the wrong page; here it is a 400 naming the parameter. A page past the end stays DRF's 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView

from common.formatting import MAX_INT_DIGITS, ascii_int


class StrictPageNumberPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def _positive(self, request: Request, name: str, upper: int | None = None) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return None
        value = ascii_int(raw)  # ASCII digits only: "²".isdigit() is True, int("²") a ValueError
        if value is None or value < 1 or (upper is not None and value > upper):
            bound = f"from 1 to {upper}" if upper is not None else "of at least 1"
            raise ValidationError({name: [f"An integer {bound}."]})
        return value

    def get_page_size(self, request: Request) -> int:
        size = self._positive(request, self.page_size_query_param, self.max_page_size)
        return self.page_size if size is None else size

    def paginate_queryset(self, queryset: QuerySet[Any], request: Request, view: APIView | None = None) -> Any:
        self._positive(request, self.page_query_param)
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response_schema(self, schema: Any) -> dict[str, Any]:
        # DRF's examples point at http://api.example.org/accounts/; the schema's examples show one
        # page holding the one example result instead, true of every list this class serves.
        paginated: dict[str, Any] = super().get_paginated_response_schema(schema)
        properties = paginated["properties"]
        properties["count"]["example"] = 1
        properties["next"]["example"] = None
        properties["previous"]["example"] = None
        return paginated

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
            else:  # page numbers are parsed as at most 18 digits (common.formatting.ascii_int)
                parameter["schema"]["maximum"] = 10**MAX_INT_DIGITS - 1
        return parameters
