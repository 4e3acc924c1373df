"""The OpenAPI schema's common error answers, documented for every operation at once.

A drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]): each
operation is given the error statuses its view can answer, from what the view is made of,
unless the view documents that status itself:

- 400 when it takes a body or parameters (a field named with its messages, or `detail`);
- 401 and 403 unless anyone may call it (no credentials; a role or an object refused);
- 404 when its path names an object (none, or not visible to the caller);
- 409 when it writes (a rule refuses it: `{detail, rule}`, core.errors.RuleRefused);
- 413 when it takes a file (core.api's error shape; the upload limits in settings);
- 429 when it is throttled.

The bodies follow core.api.exception_handler: `{detail}` (plus `rule` for a 409), and a
400's `{field: [messages]}`. A description-only answer a view wrote gets the body too.
"""

import re

from rest_framework.permissions import AllowAny

ERROR = "Error"
FIELD_ERRORS = "FieldErrors"
SCHEMAS = {
    ERROR: {
        "type": "object",
        "description": "What went wrong, in words; `rule` names a refused rule (409).",
        "properties": {"detail": {"type": "string"}, "rule": {"type": "string"}},
        "required": ["detail"],
    },
    FIELD_ERRORS: {
        "description": (
            "Bad input: each field at fault with its messages (`non_field_errors` for the "
            "whole body), or `detail`; a list of messages when no field is named."
        ),
        "oneOf": [{"type": "object", "additionalProperties": True}, {"type": "array"}],
    },
}
SAID = {
    "400": "Bad input: `{field: [messages]}`; nothing was written.",
    "401": "No credentials, or a token that is unknown or expired.",
    "403": "This role may not do this, or may not see this object.",
    "404": "No such object, or not visible to the caller.",
    "409": "A rule refuses it: `{detail, rule}`; nothing was written.",
    "413": "The upload is over the size limit.",
    "429": "Too many requests: wait and retry (Retry-After).",
}
WRITES = {"post", "put", "patch", "delete"}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: document the common error answers of every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in SCHEMAS.items():
        schemas.setdefault(name, schema)
    # The generator's paths say {pk} where the schema's say {id}: match them by shape.
    views = {
        (_shape(path), method.lower()): generator.create_view(callback, method, request)
        for path, _, method, callback in generator.endpoints or []
    }
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "put", "post", "patch", "delete"}:
                continue
            view = views.get((_shape(path), method))
            responses = operation.setdefault("responses", {})
            for code in sorted(_error_codes(path, method, operation, view, schemas)):
                answer = responses.setdefault(code, {"description": SAID[code]})
                if "content" not in answer:
                    ref = FIELD_ERRORS if code == "400" else ERROR
                    answer["content"] = {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}
                    }
    return result


def _error_codes(path: str, method: str, operation: dict, view, schemas: dict) -> set[str]:
    codes = set()
    if operation.get("requestBody") or any(
        parameter.get("in") == "query" for parameter in operation.get("parameters", [])
    ):
        codes.add("400")
    parameters = operation.get("parameters", [])
    if "{" in path or any(p.get("name") == "page" for p in parameters):
        codes.add("404")  # no such object; or a page past the last one
    if method in WRITES:
        codes.add("409")
    body = operation.get("requestBody", {}).get("content", {})
    if "multipart/form-data" in body and _takes_a_file(body["multipart/form-data"], schemas):
        codes.add("413")
    if view is not None:
        if not all(isinstance(p, AllowAny) for p in view.get_permissions()):
            codes |= {"401", "403"}
        if view.get_throttles():
            codes.add("429")
    return codes


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _takes_a_file(media: dict, schemas: dict) -> bool:
    schema = media.get("schema", {})
    if "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    properties = schema.get("properties", {})
    return any(field.get("format") == "binary" for field in properties.values())
