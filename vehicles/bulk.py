"""Writing many rows of several tables in one round trip, and allocating their ids up front.

The hot write paths (a declaration with its lines, checks and events; a batch of them) build their rows in
memory with their ids already known, then send them in one statement: on PostgreSQL one ``WITH … INSERT``
per table, chained in a single query (foreign keys are deferred to the commit, so the order of the tables
does not matter); elsewhere (SQLite, the embedded default) one ``bulk_create`` per table. The SQL of each
INSERT is Django's own (its field preparation, ``pre_save`` of ``auto_now`` fields, database defaults),
built once per shape of rows and kept (tests/clearance/test_bulk_insert.py holds it equal to Django's).

The hottest single-row writes (the barrier's decision row, the lifecycle's one-statement moves) use instead
an INSERT whose columns are worked out once per model (``insert_shape``): the same field preparation,
without Django building the statement again on every call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

from django.db import connection, models
from django.db.models import NOT_PROVIDED
from django.db.models.constants import OnConflict
from django.db.models.expressions import DatabaseDefault
from django.db.models.sql import InsertQuery


def ids_allocate(counts: Sequence[tuple[type[models.Model], int]]) -> list[list[int]]:
    """``n`` new primary keys for each ``(model, n)``, in one query on PostgreSQL (the tables' own
    sequences, so no id is ever handed out twice). Elsewhere the next ids after the largest: SQLite has a
    single writer, and the callers have written already in their transaction, so they hold its lock."""
    wanted = [(model, count) for model, count in counts if count]
    allocated: dict[type[models.Model], list[int]] = {model: [] for model, _count in counts}
    if not wanted:
        return [allocated[model] for model, _count in counts]
    if connection.vendor == "postgresql":
        parts, params = [], []
        for index, (model, count) in enumerate(wanted):
            parts.append(
                f"SELECT {index} AS part, nextval(pg_get_serial_sequence(%s, %s)) AS id FROM generate_series(1, %s)"
            )
            params += [model._meta.db_table, model._meta.pk.column, count]
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            for part, new_id in cursor.fetchall():
                allocated[wanted[part][0]].append(new_id)
        for ids in allocated.values():
            ids.sort()
    else:
        for model, count in wanted:
            largest = model.objects.aggregate(largest=models.Max("pk"))["largest"] or 0
            allocated[model] = list(range(largest + 1, largest + 1 + count))
    return [allocated[model] for model, _count in counts]


def _insert_sql(model: type[models.Model], rows: list[models.Model], *, ignore_conflicts: bool) -> tuple[str, tuple]:
    """Django's INSERT of ``rows``: its SQL and parameters. Django builds the statement once per shape
    (model, columns, which of them take the database's default, number of rows unless it sends columns as
    arrays) and it is kept; building it again for every declaration was a seventh of a create's time.
    Rows holding any other expression are left to Django every time."""
    fields = _insert_fields(model, pk_given=getattr(rows[0], model._meta.pk.attname) is not None)
    values = [[field.pre_save(row, add=True) for field in fields] for row in rows]
    defaults = tuple(isinstance(value, DatabaseDefault) for value in values[0])
    plain = all(
        isinstance(value, DatabaseDefault) if default else not hasattr(value, "resolve_expression")
        for row_values in values
        for value, default in zip(row_values, defaults, strict=True)
    )
    # As django.db.backends.postgresql.compiler: several rows of plain values go as one array per column.
    unnest = len(rows) > 1 and not any(defaults) and _unnestable(fields)
    # A statement of one row per VALUES tuple is kept for the few rows of a single declaration, not for
    # every size of batch; nor when a field writes its own placeholder, which may depend on the value.
    if not plain or not (unnest or len(rows) <= KEPT_VALUES_ROWS) or _own_placeholders(fields):
        return _django_insert_sql(model, fields, rows, ignore_conflicts=ignore_conflicts)
    shape = (model, fields, defaults, 0 if unnest else len(rows), ignore_conflicts)
    sql = _STATEMENTS.get(shape)
    if sql is None:
        sql, params = _django_insert_sql(model, fields, rows, ignore_conflicts=ignore_conflicts)
        _STATEMENTS[shape] = sql
        return sql, params
    prepared = [
        [
            field.get_db_prep_save(value, connection)
            for field, value, default in zip(fields, row_values, defaults, strict=True)
            if not default
        ]
        for row_values in values
    ]
    if unnest:
        return sql, tuple(list(column) for column in zip(*prepared, strict=True))
    return sql, tuple(value for row in prepared for value in row)


_STATEMENTS: dict[tuple, str] = {}
KEPT_VALUES_ROWS = 8


@cache
def _own_placeholders(fields: tuple) -> bool:
    return any(hasattr(field, "get_placeholder") for field in fields)


@cache
def _insert_fields(model: type[models.Model], *, pk_given: bool) -> tuple:
    return tuple(
        field for field in model._meta.concrete_fields if not field.generated and (pk_given or not field.primary_key)
    )


@cache
def _unnestable(fields: tuple) -> bool:
    return not _own_placeholders(fields) and all(
        (field.target_field if field.is_relation else field).get_internal_type() in connection.data_types
        for field in fields
    )


def _django_insert_sql(model, fields, rows, *, ignore_conflicts: bool) -> tuple[str, tuple]:
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE if ignore_conflicts else None)
    query.insert_values(list(fields), rows, raw=False)
    ((sql, params),) = query.get_compiler(connection=connection).as_sql()
    return sql, params


def rows_insert(groups: Iterable[tuple[Sequence[models.Model], bool]]) -> None:
    """Insert each group of unsaved rows ``(rows, ignore_conflicts)``; a group's rows are of one model,
    with their primary keys set (or not needed afterwards). One query on PostgreSQL."""
    groups = [(list(rows), ignore) for rows, ignore in groups if rows]
    if not groups:
        return
    if connection.vendor != "postgresql":
        for rows, ignore in groups:
            type(rows[0]).objects.bulk_create(rows, ignore_conflicts=ignore)
        _mark_saved(groups)
        return
    statements, params = [], []
    for index, (rows, ignore) in enumerate(groups):
        sql, group_params = _insert_sql(type(rows[0]), rows, ignore_conflicts=ignore)
        statements.append(f"w{index} AS ({sql})")
        params += group_params
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(statements)} SELECT 1", params)
    _mark_saved(groups)


def _mark_saved(groups) -> None:
    for rows, _ignore in groups:
        for row in rows:
            row._state.adding = False
            row._state.db = connection.alias


@cache
def insert_shape(model: type[models.Model]) -> tuple[list, str, str, str]:
    """(fields, table, columns, one row's placeholders) of an INSERT into ``model`` on PostgreSQL, its id
    and database defaults left to the database. Once per model: working this out again for every row was a
    tenth of the barrier's time."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.db_default is NOT_PROVIDED]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    return fields, quote(model._meta.db_table), columns, ", ".join(["%s"] * len(fields))


def insert_params(rows: Sequence[models.Model]) -> list:
    """Every row's values for ``insert_shape``'s columns, prepared by their fields (``auto_now_add`` too)."""
    fields = insert_shape(type(rows[0]))[0]
    return [f.get_db_prep_save(f.pre_save(row, add=True), connection) for row in rows for f in fields]


def row_insert(row: models.Model) -> None:
    """Insert one unsaved row and set its id: on PostgreSQL by the SQL ``insert_shape`` keeps (Django
    building an INSERT cost more than running it), elsewhere by ``save``. Like ``bulk_create``, it sends no
    ``pre_save``/``post_save`` signals: for rows no receiver listens to."""
    if connection.vendor != "postgresql":
        row.save(force_insert=True)
        return
    _fields, table, columns, placeholders = insert_shape(type(row))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id", insert_params([row]))
        (row.id,) = cursor.fetchone()
    row._state.adding, row._state.db = False, connection.alias
