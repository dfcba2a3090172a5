"""Room on each page of declarations for the row's next versions.

Most changes of a declaration touch no indexed column (the trail's sequence and head, the event count, the
time of the change: four or five per check run, the fee, the slot's moves). PostgreSQL then writes the new
version beside the old one without touching the row's indexes (a HOT update), if the page has room. At the
default fill factor a page is full once written, and each of those changes wrote a new entry in every index
of the table instead.
"""

from django.db import migrations

FILLFACTOR = 80


def fillfactor_set(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE clearance_declaration SET (fillfactor = {FILLFACTOR})")


def fillfactor_reset(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE clearance_declaration RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("clearance", "0033_fewer_index_writes")]

    operations = [migrations.RunPython(fillfactor_set, fillfactor_reset)]
