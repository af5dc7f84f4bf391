"""Two accounts whose usernames differ only in case can never exist: a unique index on the
upper-cased username of Django's user table (PostgreSQL and SQLite both index expressions).

Fails if such accounts exist already; rename or merge them first (docs/signin.md).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("signin", "0001_single_sign_on"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE UNIQUE INDEX signin_user_username_ci ON auth_user (UPPER(username));",
            reverse_sql="DROP INDEX signin_user_username_ci;",
        ),
    ]
