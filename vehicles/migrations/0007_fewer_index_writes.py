"""A movement's yard and lane indexed only where set: a movement is at one or the other."""

import django.db.models.deletion
from django.db import migrations, models


def fk_index_drop(table: str, column: str, name: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        f'DROP INDEX IF EXISTS "{name}"', reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")'
    )


class Migration(migrations.Migration):
    dependencies = [
        ("vehicles", "0006_lane_windows_and_transfer_points"),
    ]

    operations = [
        # The foreign keys' own indexes go, and nothing else: Django's AlterField would also drop and re-add
        # each foreign key constraint, checking every row of these tables again under lock.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="movement",
                    name="lane",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="vehicles.lane",
                        verbose_name="lane",
                    ),
                ),
                migrations.AlterField(
                    model_name="movement",
                    name="yard",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="vehicles.yard",
                        verbose_name="yard",
                    ),
                ),
            ],
            database_operations=[
                fk_index_drop(table, column, name)
                for table, column, name in [
                    ("vehicles_movement", "lane_id", "vehicles_movement_lane_id_23fddf4d"),
                    ("vehicles_movement", "yard_id", "vehicles_movement_yard_id_f975b37f"),
                ]
            ],
        ),
        migrations.AddIndex(
            model_name="movement",
            index=models.Index(condition=models.Q(("yard__isnull", False)), fields=["yard"], name="movement_yard_idx"),
        ),
        migrations.AddIndex(
            model_name="movement",
            index=models.Index(condition=models.Q(("lane__isnull", False)), fields=["lane"], name="movement_lane_idx"),
        ),
    ]
