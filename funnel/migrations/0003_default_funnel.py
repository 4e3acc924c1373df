"""Seed the default funnel: a buyer's journey, not "suspect, prospect, customer"."""

from django.db import migrations

DEFAULT_STAGES = [
    ("aware", "Aware", "open",
     "The person has met the brand: a visit, an ad click, a download.",
     "They interact with us on purpose (a form, a reply, an event sign-up)."),
    ("interacting", "Interacting", "open",
     "They took an action that identifies them and reached us as a lead.",
     "Sales has made contact, or they ask to talk."),
    ("engaged", "Engaged", "open",
     "A two-way conversation with sales has started.",
     "A need, a budget owner and a time frame are known."),
    ("investigating", "Investigating", "open",
     "They are evaluating us against their need (demo, trial, technical review).",
     "They ask for a proposal or pricing for a decision."),
    ("buying", "Buying", "open",
     "A proposal is on the table and a decision is being made.",
     "Signed, or they chose otherwise."),
    ("customer", "Customer", "won",
     "They signed and pay.",
     "They actively recommend us."),
    ("promoter", "Promoter", "won",
     "A customer who refers others, speaks for us, or renews and expands.",
     ""),
    ("disqualified", "Disqualified", "lost",
     "Not a fit for the lead definition, or a verdict of rejection.",
     ""),
    ("recycled", "Recycled", "lost",
     "A fit, but not now: back to marketing for nurturing after the agreed attempts.",
     "Marketing re-delivers them as a new lead when they re-engage."),
]


def seed(apps, schema_editor):
    Stage = apps.get_model("funnel", "Stage")
    for position, (slug, name, kind, entry, exit_) in enumerate(DEFAULT_STAGES, start=1):
        Stage.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "kind": kind,
                "position": position * 10,
                "entry_definition": entry,
                "exit_definition": exit_,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("funnel", "0002_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
