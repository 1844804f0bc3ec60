"""Drop indexes that another index already covers; each one only slowed every insert.

- ``mention.platform``: covered by the unique (platform, external_id) and by (platform, first_seen).
- ``mentionmatch.mention_id``: covered by the unique (mention_id, search_id).
- ``platformrun.search_id``: covered by the unique (search_id, platform).

The database side drops the indexes by name. Letting Django alter the foreign keys instead would
drop and re-add both constraints, which re-checks every row of the mention tables under a lock.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = [
    ("scraping_mention_platform_bf0a1098", "scraping_mention", "platform"),
    ("scraping_mentionmatch_mention_id_008fdc94", "scraping_mentionmatch", "mention_id"),
    ("scraping_platformrun_search_id_c0a1a2cc", "scraping_platformrun", "search_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("scraping", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                # PostgreSQL also made a LIKE-pattern twin for the varchar column; nothing queries with LIKE.
                migrations.RunSQL(
                    "DROP INDEX IF EXISTS scraping_mention_platform_bf0a1098_like", reverse_sql=migrations.RunSQL.noop
                ),
                *[
                    migrations.RunSQL(
                        f"DROP INDEX IF EXISTS {name}", reverse_sql=f"CREATE INDEX {name} ON {table} ({column})"
                    )
                    for name, table, column in INDEXES
                ],
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="mention",
                    name="platform",
                    field=models.CharField(max_length=32),
                ),
                migrations.AlterField(
                    model_name="mentionmatch",
                    name="mention",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="matches",
                        to="scraping.mention",
                    ),
                ),
                migrations.AlterField(
                    model_name="platformrun",
                    name="search",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="platform_runs",
                        to="scraping.search",
                    ),
                ),
            ],
        ),
    ]
