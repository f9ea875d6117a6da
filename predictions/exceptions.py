"""Why a prediction could not be served: domain errors with a stable code and details.

Each class names the HTTP status the API answers with (common/api/errors.py); /batch_predict reports them
per item. They carry no HTTP knowledge themselves, so the batch command and tasks can use them too.
"""

from __future__ import annotations

from common.exceptions import DomainError


class PredictionError(DomainError):
    code = "prediction_error"


class UnknownSymbolError(PredictionError):
    code = "unknown_symbol"
    http_status = 404


class NoDataForDateError(PredictionError):
    code = "no_data_for_date"
    http_status = 404


class ModelUnavailableError(PredictionError):
    code = "model_unavailable"
    http_status = 503


class InvalidFeaturesError(PredictionError):
    code = "invalid_features"


class ComputeBudgetExceededError(PredictionError):
    """A request whose features would be computed from more stored bars than one request may read."""

    code = "compute_budget_exceeded"
    http_status = 413
