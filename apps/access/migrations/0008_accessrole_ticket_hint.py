"""Roles get a ticket hint: what staff are told a ticket reference looks like, in place of the
regular expression (which stays for the DPO)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0007_accessrole_max_total_duration"),
    ]

    operations = [
        migrations.AddField(
            model_name="accessrole",
            name="ticket_hint",
            field=models.CharField(
                blank=True,
                help_text="What staff are shown about the ticket reference instead of the pattern: a plain description or an example, e.g. “an incident or case number, e.g. INC-1234”. An example (after “e.g.”, “for example” or “such as”) must match the pattern.",
                max_length=200,
            ),
        ),
        migrations.AlterField(
            model_name="accessrole",
            name="ticket_pattern",
            field=models.CharField(
                blank=True,
                help_text="Regular expression the ticket must match, e.g. ^INC-\\d+$ (staff see the ticket hint below, not this).",
                max_length=200,
            ),
        ),
    ]
