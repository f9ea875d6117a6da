"""A JSON parser that lets NaN and Infinity through to field validation.

JSON has no NaN, but Python's ``json`` (and many clients) read and write the ``NaN``/``Infinity``
tokens. DRF's strict parser refuses the whole body with one parse error; this one parses them, so
the serializers reject each non-finite value with a field error that names the field.
"""

from __future__ import annotations

from rest_framework.parsers import JSONParser


class LenientJSONParser(JSONParser):
    strict = False
