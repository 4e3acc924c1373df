"""The kept counts of closed months (MonthEvaluation), read by the month checks."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sla", "0009_pacing_tally"),
    ]

    operations = [
        migrations.CreateModel(
            name="MonthEvaluation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.CharField(max_length=7)),
                ("stale", models.BooleanField(default=True)),
                ("delivered", models.PositiveIntegerField(default=0)),
                ("qualified", models.PositiveIntegerField(default=0)),
                ("accepted", models.PositiveIntegerField(default=0)),
                ("rejected", models.PositiveIntegerField(default=0)),
                ("counted_at", models.DateTimeField(blank=True, null=True)),
                (
                    "agreement",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="sla.agreement",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("agreement", "month"), name="month_evaluation_once"
                    )
                ],
            },
        ),
    ]
