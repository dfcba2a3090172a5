"""The forwarders' list filtered by status, stage, route and direction (issue 18: at a million rows the
every-filter page walked the company's whole id index), and by stage alone."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("clearance", "0031_service_level_objectives"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="declaration",
            index=models.Index(
                fields=["company", "status", "stage", "route", "direction", "-id"],
                name="declaration_company_filter_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="declaration",
            index=models.Index(fields=["company", "stage", "-id"], name="declaration_company_stage_idx"),
        ),
    ]
