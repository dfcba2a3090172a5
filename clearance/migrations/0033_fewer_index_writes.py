"""Fewer indexes written on every change of a declaration, its trail and the gate's rows.

A foreign key loses its own index where another index leads with it, and gets a partial one where most
rows leave it empty. A stage change is never a HOT update (the stage is indexed): it writes every index
of the row."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fk_index_drop(table: str, column: str, name: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        f'DROP INDEX IF EXISTS "{name}"', reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")'
    )


class Migration(migrations.Migration):
    dependencies = [
        ("clearance", "0032_api_list_indexes"),
        ("vehicles", "0007_fewer_index_writes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The foreign keys' own indexes go, and nothing else: Django's AlterField would also drop and re-add
        # each foreign key constraint, checking every row of these tables again under lock.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="check",
                    name="declaration",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="checks",
                        to="clearance.declaration",
                    ),
                ),
                migrations.AlterField(
                    model_name="companyevent",
                    name="company",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="clearance.company",
                    ),
                ),
                migrations.AlterField(
                    model_name="declaration",
                    name="company",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="declarations",
                        to="clearance.company",
                        verbose_name="company",
                    ),
                ),
                migrations.AlterField(
                    model_name="declaration",
                    name="lane",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="declarations",
                        to="vehicles.lane",
                        verbose_name="lane",
                    ),
                ),
                migrations.AlterField(
                    model_name="declaration",
                    name="route",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="declarations",
                        to="vehicles.route",
                        verbose_name="route",
                    ),
                ),
                migrations.AlterField(
                    model_name="declaration",
                    name="slot",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="declarations",
                        to="clearance.arrivalslot",
                        verbose_name="arrival slot",
                    ),
                ),
                migrations.AlterField(
                    model_name="declaration",
                    name="trailer",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="declarations",
                        to="vehicles.trailer",
                        verbose_name="trailer",
                    ),
                ),
                migrations.AlterField(
                    model_name="declaration",
                    name="yard",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="declarations",
                        to="vehicles.yard",
                        verbose_name="yard",
                    ),
                ),
                migrations.AlterField(
                    model_name="declarationevent",
                    name="declaration",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="clearance.declaration",
                    ),
                ),
                migrations.AlterField(
                    model_name="declarationevent",
                    name="user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="gatedecision",
                    name="declaration",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="gate_decisions",
                        to="clearance.declaration",
                    ),
                ),
                migrations.AlterField(
                    model_name="gatedecision",
                    name="lane",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="decisions",
                        to="vehicles.lane",
                    ),
                ),
            ],
            database_operations=[
                fk_index_drop(table, column, name)
                for table, column, name in [
                    ("clearance_check", "declaration_id", "clearance_check_declaration_id_60700d59"),
                    ("clearance_companyevent", "company_id", "clearance_companyevent_company_id_5edfba86"),
                    ("clearance_declaration", "company_id", "clearance_declaration_company_id_31692165"),
                    ("clearance_declaration", "lane_id", "clearance_declaration_lane_id_d9d0a33c"),
                    ("clearance_declaration", "route_id", "clearance_declaration_route_id_28ea2475"),
                    ("clearance_declaration", "slot_id", "clearance_declaration_slot_id_3a821a24"),
                    ("clearance_declaration", "trailer_id", "clearance_declaration_trailer_id_2cf19c43"),
                    ("clearance_declaration", "yard_id", "clearance_declaration_yard_id_47470384"),
                    (
                        "clearance_declarationevent",
                        "declaration_id",
                        "clearance_declarationevent_declaration_id_c27717ac",
                    ),
                    ("clearance_declarationevent", "user_id", "clearance_declarationevent_user_id_a6a362f7"),
                    ("clearance_gatedecision", "declaration_id", "clearance_gatedecision_declaration_id_e87fd857"),
                    ("clearance_gatedecision", "lane_id", "clearance_gatedecision_lane_id_f5e9ccbc"),
                ]
            ],
        ),
        migrations.AddIndex(
            model_name="declaration",
            index=models.Index(
                condition=models.Q(("trailer__isnull", False)), fields=["trailer"], name="declaration_trailer_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="declaration",
            index=models.Index(
                condition=models.Q(("slot__isnull", False)), fields=["slot"], name="declaration_slot_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="declaration",
            index=models.Index(
                condition=models.Q(("yard__isnull", False)), fields=["yard"], name="declaration_yard_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="declarationevent",
            index=models.Index(condition=models.Q(("user__isnull", False)), fields=["user"], name="event_user_idx"),
        ),
        migrations.AddIndex(
            model_name="gatedecision",
            index=models.Index(
                condition=models.Q(("declaration__isnull", False)),
                fields=["declaration"],
                name="gatedecision_declaration_idx",
            ),
        ),
    ]
