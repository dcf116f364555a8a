"""drf-spectacular postprocessing: the error answers every operation can give,
as the app really gives them (core/errors.py, DRF's exception handler), so a
client and Schemathesis see them documented."""
from __future__ import annotations

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# A 400 is either {"detail": ...} or per-field lists of messages.
FIELD_ERRORS = {"type": "object", "additionalProperties": True}

COMMON = {
    "400": ("Invalid input: per-field messages, or a detail.", FIELD_ERRORS),
    "401": ("Missing or invalid credentials.", DETAIL),
    "403": ("Not allowed (not the creator or staff; CSRF).", DETAIL),
    "404": ("Not found.", DETAIL),
    "405": ("Method not allowed.", DETAIL),
    "406": ("Not acceptable: JSON only.", DETAIL),
    "413": ("Request body too large.", DETAIL),
    "415": ("Unsupported media type: JSON only.", DETAIL),
    "429": ("Throttled; see Retry-After.", DETAIL),
}
PRECONDITION = {"412": ("If-Match does not match the release's ETag.", DETAIL)}
IDEMPOTENCY = {"422": ("Idempotency-Key reused with another body.", DETAIL)}


def add_error_responses(result, generator, request, public):
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            extra = dict(COMMON)
            if method in ("put", "patch", "delete"):
                extra.update(PRECONDITION)
            if method == "post":
                extra.update(IDEMPOTENCY)
            for code, (description, schema) in extra.items():
                responses.setdefault(code, {"description": description, "content": {"application/json": {"schema": schema}}})
    return result
