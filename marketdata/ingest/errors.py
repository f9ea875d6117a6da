"""The one exception the ingest pipeline raises for a file it refuses."""

from __future__ import annotations


class IngestError(Exception):
    """A file cannot be loaded. The message names the problem and the fix; nothing was written."""
