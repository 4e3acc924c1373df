"""Filters every list shares: an instant in a query string, read by the one parser."""

import django_filters
from django import forms

from core.timeparse import parse_instant


class InstantFormField(forms.Field):
    """An ISO-8601 instant with its offset (`parse_instant`); blank is no filter."""

    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return None
        try:
            return parse_instant(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


class InstantFilter(django_filters.Filter):
    field_class = InstantFormField
