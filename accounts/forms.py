"""The person's own settings: the zone they read times in, and how flags reach them."""

from zoneinfo import available_timezones

from django import forms
from django.db import transaction

from accounts.access import MONTH_FLAG_KINDS
from accounts.models import FLAG_KINDS, NotificationPreference, Role, User, validate_time_zone


def kinds_for(user: User) -> list[tuple[str, str]]:
    """The kinds of flag that can reach the person (sla.notify.recipients): a lead's flags
    go to its owner and breaches to sales managers, the month's to marketing managers.
    Executives and admins, who own nothing by role, may still choose for every kind."""
    if user.role in (Role.SALES, Role.SALES_MANAGER):
        return [(kind, label) for kind, label in FLAG_KINDS if kind not in MONTH_FLAG_KINDS]
    if user.role == Role.MARKETING:
        return [(kind, label) for kind, label in FLAG_KINDS if kind in MONTH_FLAG_KINDS]
    return list(FLAG_KINDS)


class PersonSettingsForm(forms.Form):
    """One field for the zone, then an e-mail choice and a chat box per kind of flag.

    Saving stores a NotificationPreference row only for the kinds whose choice differs
    from the default (e-mail at once, chat on), so "no row" keeps meaning "the default".
    """

    time_zone = forms.CharField(
        label="Show times in",
        required=False,
        max_length=64,
        validators=[validate_time_zone],
        help_text="An IANA name such as Europe/Paris or America/New_York. Leave it empty to "
        "read every time in its calendar's zone.",
        widget=forms.TextInput(
            attrs={"class": "form-control", "list": "zones", "autocomplete": "off"}
        ),
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        self.kinds = kinds_for(user)
        stored = {p.kind: p for p in user.notification_preferences.all()}
        initial = {"time_zone": user.time_zone}
        for kind, _ in self.kinds:
            pref = stored.get(kind)
            initial[f"email_{kind}"] = pref.email if pref else NotificationPreference.Email.AT_ONCE
            initial[f"chat_{kind}"] = pref.chat if pref else True
        super().__init__(*args, initial=initial, **kwargs)
        for kind, label in self.kinds:
            self.fields[f"email_{kind}"] = forms.ChoiceField(
                label=f"{label}: e-mail",
                choices=NotificationPreference.Email.choices,
                widget=forms.Select(attrs={"class": "form-select"}),
            )
            self.fields[f"chat_{kind}"] = forms.BooleanField(
                label=f"{label}: chat",
                required=False,
                widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
            )

    def clean_time_zone(self) -> str:
        return self.cleaned_data["time_zone"].strip()

    def rows(self) -> list[dict]:
        """The preferences table: one row per kind, with its two bound fields."""
        return [
            {
                "kind": kind,
                "label": label,
                "email": self[f"email_{kind}"],
                "chat": self[f"chat_{kind}"],
            }
            for kind, label in self.kinds
        ]

    @transaction.atomic
    def save(self) -> User:
        data = self.cleaned_data
        self.user.time_zone = data["time_zone"]
        self.user.full_clean(exclude=["password"])
        self.user.save(update_fields=["time_zone"])
        chosen = [
            NotificationPreference(
                user=self.user, kind=kind, email=data[f"email_{kind}"], chat=data[f"chat_{kind}"]
            )
            for kind, _ in self.kinds
        ]
        default = (NotificationPreference.Email.AT_ONCE, True)
        changed = [p for p in chosen if (p.email, p.chat) != default]
        shown = [kind for kind, _ in self.kinds]
        kept = [p.kind for p in changed]
        self.user.notification_preferences.filter(kind__in=shown).exclude(kind__in=kept).delete()
        NotificationPreference.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["user", "kind"],
            update_fields=["email", "chat"],
        )
        return self.user


def zone_names() -> list[str]:
    """The zones offered as suggestions beside the field."""
    return sorted(available_timezones() - {"localtime", "Factory"})
