"""Why a prediction could not be served: domain errors with a stable code and details.

The API maps each class to an HTTP status (predictions/api/errors.py); /batch_predict reports them
per item. They carry no HTTP knowledge themselves, so the batch command and tasks can use them too.
"""

from __future__ import annotations

from typing import Any


class PredictionError(Exception):
    code = "prediction_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class UnknownSymbolError(PredictionError):
    code = "unknown_symbol"


class NoDataForDateError(PredictionError):
    code = "no_data_for_date"


class ModelUnavailableError(PredictionError):
    code = "model_unavailable"


class InvalidFeaturesError(PredictionError):
    code = "invalid_features"
