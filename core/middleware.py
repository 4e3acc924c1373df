"""Requests no field of slaops can hold are refused before any view runs.

A NUL character fits no text column of PostgreSQL (psycopg2 refuses the statement), and
no person types one: a query string or form field carrying one is answered 400 naming
the field, as JSON for the API and as a short page for the browser. Uploaded files are
left to their own readers (a CSV import names the row), and JSON bodies to the API's
serializers, which refuse NUL in text fields themselves.
"""

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.html import escape

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _nul_field(request) -> str | None:
    """The name of the first query or form field holding a NUL character, or None."""
    if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.path:
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return key.replace("\x00", "") or "query"
        return "path" if "\x00" in request.path else "query"
    if request.method == "POST" and request.content_type in FORM_TYPES:
        for key, values in request.POST.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                return key.replace("\x00", "") or "form"
    return None


class RefuseNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = _nul_field(request)
        if field is None:
            return self.get_response(request)
        message = f"{field}: may not contain a NUL character."
        if request.path.startswith("/api/"):
            return JsonResponse({field: [message.split(": ", 1)[1]]}, status=400)
        return HttpResponseBadRequest(
            f"<!doctype html><title>Bad request</title><h1>Bad request</h1><p>{escape(message)}</p>"
        )
