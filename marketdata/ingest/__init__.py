"""Bhavcopy ingestion without the database: files -> layouts -> one normalised frame -> checks.

``sources`` expands paths (folders, zips), ``table`` reads bytes, ``layouts`` holds one parser per
layout, ``validate`` checks rows, ``sessions`` judges the dates the calendar does not list,
``pipeline.prepare_file`` runs them in order. The database side (bulk upsert, IngestRun records,
the recorded special sessions) is ``marketdata.services``.
"""

from __future__ import annotations

from marketdata.ingest.errors import IngestError
from marketdata.ingest.pipeline import Prepared, prepare_file
from marketdata.ingest.sources import SourceFile, expand_sources, sha256_hex

__all__ = ["IngestError", "Prepared", "SourceFile", "expand_sources", "prepare_file", "sha256_hex"]
