"""The index the compliance figures read each lead's first-touch clock from."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0010_month_evaluations"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="clock",
            index=models.Index(
                condition=models.Q(("kind", "first_touch")),
                fields=["lead"],
                include=(
                    "state",
                    "started_at",
                    "due_at",
                    "stopped_at",
                    "stop_reason",
                    "touch_minutes",
                ),
                name="clock_first_touch_figures",
            ),
        ),
    ]
