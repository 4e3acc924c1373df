"""Cross-cutting API pieces: parsing, pagination and the error shape of the contract."""

import io

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views.defaults import bad_request as page_bad_request
from django.views.defaults import page_not_found
from rest_framework import exceptions, parsers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import RuleRefused


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing with a 400 what no field can hold: a body nested deeper
    than Python's decoder goes, and a NUL character anywhere (PostgreSQL text and JSON
    refuse it; JSON can only spell it `\\u0000`), naming where it is."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError(
                "JSON parse error - the body is nested too deeply."
            ) from exc
        if b"\\u0000" in raw:
            where = _nul_path(data)
            if where is not None:
                raise exceptions.ValidationError({where: ["may not contain a NUL character."]})
        return data


def _nul_path(data, path: str = "") -> str | None:
    """The dotted path of the first key or text holding a NUL character, or None."""
    todo = [(path, data)]
    while todo:
        where, value = todo.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return where or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key}" if where else str(key)
                if "\x00" in str(key):
                    return name.replace("\x00", "")
                todo.append((name, item))
        elif isinstance(value, list):
            todo.extend((f"{where}[{i}]", item) for i, item in enumerate(value))
    return None


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def exception_handler(exc, context):
    """DRF's handler, plus the domain errors: Django's ValidationError turned into a 400
    naming the fields, and a refused rule into a 409 saying which."""
    if isinstance(exc, RuleRefused):
        body = {"detail": exc.message}
        if exc.rule:
            body["rule"] = exc.rule
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            data = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
            if "__all__" in data:
                data["non_field_errors"] = data.pop("__all__")
        else:
            data = {"detail": " ".join(str(m) for m in exc.messages)}
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)


def not_found(request, exception):
    """Django's 404 handler: under /api/ the contract's JSON error (a path no route
    matches, such as an id that is not a number), elsewhere the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def bad_request(request, exception):
    """Django's 400 handler (a request it refuses before any view: too many form fields,
    a malformed multipart body): under /api/ the contract's JSON error."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "The request is malformed or too large."}, status=400)
    return page_bad_request(request, exception)
