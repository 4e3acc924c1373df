"""Forms of the definition pages: edit a definition, and try a lead against it.

They only shape input; the rules of a definition live in leads.services.
"""

import json

from django import forms
from django.core.exceptions import ValidationError

from leads.scoring import LEAD_FIELDS


class RulesField(forms.JSONField):
    """A list of rules as indented JSON, so a person can read and edit it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 8, "class": "font-monospace"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return super().prepare_value(value)

    def clean(self, value):
        cleaned = super().clean(value)
        return [] if cleaned is None else cleaned


class BootstrapMixin:
    """Give every widget Bootstrap's form-control class."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            classes = field.widget.attrs.get("class", "")
            field.widget.attrs["class"] = f"form-control form-control-sm {classes}".strip()


def _text(rows: int = 3):
    return forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": rows}))


class DefinitionForm(BootstrapMixin, forms.Form):
    name = forms.CharField(max_length=200)
    good_lead = _text()
    not_a_lead = _text()
    handling = _text()
    qualify_at = forms.IntegerField(min_value=0, max_value=2_147_483_647, initial=50)
    criteria = RulesField(
        help_text='[{"field": "company_size", "op": "gte", "value": 50, "points": 40, '
        '"label": "50+ staff"}]'
    )
    disqualifiers = RulesField(
        help_text='[{"field": "attributes.student", "op": "eq", "value": true, "label": "Student"}]'
    )

    def add_service_errors(self, exc: ValidationError) -> None:
        for name, messages in exc.message_dict.items():
            self.add_error(name if name in self.fields else None, messages)


def parse_attributes(text: str) -> dict[str, str]:
    """`key = value` lines into a dict; values stay text (scoring reads numbers in text)."""
    attributes, errors = {}, []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            errors.append(f"Line {number}: write one attribute per line as key = value.")
            continue
        attributes[key.strip()] = value.strip()
    if errors:
        raise ValidationError(errors)
    return attributes


class TryLeadForm(BootstrapMixin, forms.Form):
    """A lead as marketing would deliver it: only what scoring reads."""

    email = forms.CharField(required=False, max_length=254)
    first_name = forms.CharField(required=False, max_length=100)
    last_name = forms.CharField(required=False, max_length=100)
    company = forms.CharField(required=False, max_length=200)
    title = forms.CharField(required=False, max_length=200)
    country = forms.CharField(required=False, max_length=100)
    company_size = forms.IntegerField(required=False, min_value=0, max_value=2_147_483_647)
    source = forms.CharField(required=False, max_length=100)
    attributes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "font-monospace"}),
        help_text="One per line: key = value",
    )

    def clean_attributes(self):
        return parse_attributes(self.cleaned_data.get("attributes") or "")

    def lead_data(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in LEAD_FIELDS if name in self.fields}
        data["attributes"] = self.cleaned_data["attributes"]
        return data
