"""The API's JSON parser, bounded in nesting depth.

Python's json module recurses once per level: a ~2 KB body nested 1,000
levels deep raises RecursionError, a 500. No field of this API takes more than
a couple of levels, so bodies deeper than settings.MAX_JSON_DEPTH are refused
with a 400 before they are parsed.
"""
from __future__ import annotations

import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        limit = settings.MAX_JSON_DEPTH
        if json_depth(text) > limit:
            raise ParseError(f"JSON nested deeper than {limit} levels.")
        try:
            return json.loads(text, parse_constant=self._reject_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None

    @staticmethod
    def _reject_constant(name: str):
        # NaN and Infinity are not JSON.
        raise ValueError(f"{name} is not valid JSON")
