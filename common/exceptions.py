"""The base of every error a client can act on: a stable code, a message naming the fix, details.

Domain errors carry no HTTP knowledge beyond the status their kind maps to, so commands and tasks
raise and report them too; ``common.api.errors`` turns them into the API's one JSON error shape.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "bad_request"
    http_status = 400

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
