"""Seed the rejection reason codes named in the API contract."""

from django.db import migrations

DEFAULT_REASONS = [
    ("not_icp", "Not our ideal customer profile"),
    ("no_budget", "No budget"),
    ("bad_contact", "Contact details wrong or unreachable"),
    ("duplicate", "Duplicate of a lead we already have"),
    ("student_or_job_seeker", "Student or job seeker"),
    ("competitor", "Competitor or vendor"),
    ("no_authority", "No authority or influence on the purchase"),
]


def seed(apps, schema_editor):
    ReasonCode = apps.get_model("leads", "ReasonCode")
    for position, (code, label) in enumerate(DEFAULT_REASONS, start=1):
        ReasonCode.objects.update_or_create(code=code, defaults={"label": label, "position": position})


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
