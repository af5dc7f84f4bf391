"""Seed the default GDPR taxonomy (data categories and data subject categories).

Only rows that are missing are created (found by slug, or by name for subjects), so the
DPO's own edits and additions are left alone. Unapplying removes nothing: the rows may be
in use by then.
"""

from django.db import migrations


def seed(apps, schema_editor):
    from apps.inventory.taxonomy import taxonomy_seed

    taxonomy_seed(
        category_model=apps.get_model("inventory", "DataCategory"),
        subject_model=apps.get_model("inventory", "DataSubjectCategory"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_activity_no_recipients_subject_builtin"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
