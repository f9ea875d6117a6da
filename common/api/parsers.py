"""JSON parsers with bounds: a size limit (413) and a nesting limit (400), so no body reaches a 500.

``SafeJSONParser`` is the default for every endpoint. Python's ``json`` recurses once per nesting
level, so a body nested ~1,000 deep raised ``RecursionError`` (a 500); bodies are refused past
``MAX_JSON_DEPTH`` levels instead, and one larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes is a
413 before it is parsed.

``LenientJSONParser`` also lets NaN and Infinity through to field validation. JSON has no NaN, but
Python's ``json`` (and many clients) read and write the ``NaN``/``Infinity`` tokens. DRF's strict
parser refuses the whole body with one parse error; this one parses them, so the serializers reject
each non-finite value with a field error that names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

# Deeper than any request body of the API (3 levels) needs, far below Python's recursion limit.
MAX_JSON_DEPTH = 32


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0, ``[]`` and ``{}`` are 1), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            depth += 1
            stack.extend((v, depth) for v in item.values())
        elif isinstance(item, list):
            depth += 1
            stack.extend((v, depth) for v in item)
        deepest = max(deepest, depth)
    return deepest


class SafeJSONParser(JSONParser):
    strict = True

    def parse(self, stream: IO[bytes] | None, media_type: str | None = None, parser_context: Any = None) -> Any:
        if stream is None:
            return None
        limit = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
        raw = stream.read(limit + 1) if limit else stream.read()
        if limit and len(raw) > limit:
            from common.api.errors import RequestTooLargeError  # errors imports DRF views, which load this module

            raise RequestTooLargeError(f"The request body is larger than {limit} bytes.", details={"max_bytes": limit})
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)  # text encodings only: a "zlib_codec" charset is a LookupError
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError as exc:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels") from exc
        except (ValueError, LookupError) as exc:  # UnicodeDecodeError, or an unknown charset
            raise ParseError(f"JSON parse error - {exc}") from exc
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels")
        return data


class LenientJSONParser(SafeJSONParser):
    strict = False
