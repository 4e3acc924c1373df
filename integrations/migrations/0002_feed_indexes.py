"""Indexes on the time columns the change feed reads (integrations/feed.py), so each pass
costs O(new events). They sit on other apps' tables without changing their models:
the feed is this app's concern, and their migrations stay theirs. `IF NOT EXISTS`
keeps this safe should an app add the same index itself."""

from django.db import migrations

INDEXES = [
    ("integrations_feed_lead_created", "leads_lead", "created_at", ""),
    ("integrations_feed_lead_verdict", "leads_lead", "verdict_at", "verdict_at IS NOT NULL"),
    ("integrations_feed_ownerchange_at", "leads_ownerchange", "at", ""),
    ("integrations_feed_flag_noticed", "sla_flag", "noticed_at", ""),
    ("integrations_feed_flag_resolved", "sla_flag", "resolved_at", "resolved_at IS NOT NULL"),
]


def _create(name, table, column, where):
    partial = f" WHERE {where}" if where else ""
    return f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column}){partial}"


class Migration(migrations.Migration):
    dependencies = [("integrations", "0001_initial")]

    operations = [
        migrations.RunSQL(_create(*index), f"DROP INDEX IF EXISTS {index[0]}")
        for index in INDEXES
    ]
