"""Slack deliveries keep their state (being handled, done, failed), so a retry that
arrives while a click is handled is acknowledged and one that arrives after a failure is
acted on again."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0002_sync_schedule'),
    ]

    operations = [
        migrations.AddField(
            model_name='slackdelivery',
            name='answer',
            field=models.JSONField(blank=True, null=True, verbose_name='answer'),
        ),
        migrations.AddField(
            model_name='slackdelivery',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=1, verbose_name='attempts'),
        ),
        migrations.AddField(
            model_name='slackdelivery',
            name='last_error',
            field=models.CharField(blank=True, max_length=200, verbose_name='last error'),
        ),
        # The bodies remembered before were acted on: done. New ones start as being handled.
        migrations.AddField(
            model_name='slackdelivery',
            name='state',
            field=models.CharField(choices=[('handling', 'being handled'), ('done', 'done'), ('failed', 'failed')], default='done', max_length=8, verbose_name='state'),
        ),
        migrations.AlterField(
            model_name='slackdelivery',
            name='state',
            field=models.CharField(choices=[('handling', 'being handled'), ('done', 'done'), ('failed', 'failed')], default='handling', max_length=8, verbose_name='state'),
        ),
        migrations.AddField(
            model_name='slackdelivery',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, verbose_name='updated at'),
        ),
    ]
