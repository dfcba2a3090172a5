"""Querysets that Django builds and compiles once, then runs again with new values.

On the hot paths (the barrier's lookup, a check's lock, the dispatcher's reads) building a queryset and
compiling it to SQL costs Django more than PostgreSQL spends running it: PostgreSQL keeps the statement
prepared (psycopg's automatic prepared statements), but Django compiles the same SQL again on every call.
A ``CompiledQuery`` builds its queryset once per database (with marker values standing for its
parameters), keeps the SQL and where each parameter goes, and each call binds the new values and makes the
rows into model instances the way the queryset itself would: its ``select_related``, ``only()``,
annotations and ``select_for_update`` included, and each statement counted like any other (query budgets,
``CaptureQueriesContext``).

What it takes: parameters that are text, integers, dates or moments used as plain values (an equality or a
comparison; a ``LIMIT`` is not one). Anything else is refused when it is first compiled, with the reason.
A ``prefetch_related`` runs after the rows, as the queryset's would (its own queries built each time). What
the build reads besides its parameters (a setting, the clock) is read once: it must be what does not change;
what changes (the clock's date, say) is a parameter.

The queryset's own constants (a status it excludes, a kind it wants) are written into the SQL as literals,
not sent as parameters. PostgreSQL plans a prepared statement once for any values (its generic plan), and a
plan made without the values cannot use a partial index whose condition names them: the barrier's lookup
then read every past crossing of the vehicle through the all-history index instead of the one active row
through ``declaration_one_active_per_vehicle``. With the constants in the text the generic plan sees them.
"""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet, prefetch_related_objects
from django.db.models.fields.related_descriptors import ReverseManyToOneDescriptor
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError
from psycopg import sql as psycopg_sql

# Markers that cannot be mistaken for a real value: text no caller sends, integers no sequence reaches,
# moments and dates in the first year of the calendar.
_TEXT_MARKER = "\x1fcompiled-query-parameter-{}\x1f"
_INTEGER_MARKER = -(2**62)


def _marker(name: str, kind: type, index: int):
    if kind is str:
        return _TEXT_MARKER.format(name)
    if kind is int:
        return _INTEGER_MARKER - index
    if kind is date:
        return date(1, 1, 1) + timedelta(days=index)
    return datetime(1, 1, 1, 0, 0, index, tzinfo=UTC)


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple  # the compiled parameters; None where a call's value goes
    # (position in params, parameter name, the type Django wrapped the value in, if any: psycopg's Int8 for a
    # bigint column with server-side binding, so the statement keeps its parameter types and stays prepared)
    slots: tuple[tuple[int, str, type | None], ...]
    for_update: bool
    model: type[Model]
    model_columns: tuple[int, int]  # the model's own columns in a row: [start, end)
    init_list: list[str]
    populators: list
    converters: tuple  # ((position, converters, expression), ...)
    annotations: tuple[tuple[str, int], ...]
    prefetch: tuple  # the queryset's prefetch_related lookups, run on the rows


class CompiledQuery:
    """``build(**values)`` returns the queryset; ``parameters`` names its parameters and their type (``str``,
    ``int``, ``date`` or ``datetime``). ``query.all(**values)`` is ``list(build(**values))``;
    ``query.first(**values)`` its first row or None."""

    def __init__(self, build: Callable[..., QuerySet], *, using: str = DEFAULT_DB_ALIAS, **parameters: type):
        for name, kind in parameters.items():
            if kind not in (str, int, date, datetime):
                raise TypeError(
                    f"Parameter {name!r}: only str, int, date and datetime parameters can be compiled, not {kind}."
                )
        self.build, self.using, self.parameters = build, using, parameters
        self._plans: dict[str, _Plan] = {}  # by the database's vendor (PostgreSQL only, for now)
        self._lock = threading.Lock()

    def all(self, **values) -> list[Model]:
        connection = connections[self.using]
        if connection.vendor != "postgresql":
            # The embedded default (SQLite) adapts values before they reach the SQL (a moment becomes text), so
            # a marker cannot be found again; it runs the queryset as built, as it would without this module.
            return list(self.build(**values))
        plan = self._plans.get(connection.vendor) or self._compile(connection)
        if plan.for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(plan.params)
        for position, name, wrapper in plan.slots:
            params[position] = values[name] if wrapper is None else wrapper(values[name])
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        start, end = plan.model_columns
        instances = []
        for row in rows:
            if plan.converters:
                row = list(row)
                for position, converters, expression in plan.converters:
                    value = row[position]
                    for converter in converters:
                        value = converter(value, expression, connection)
                    row[position] = value
            instance = plan.model.from_db(self.using, plan.init_list, row[start:end])
            for populator in plan.populators:
                populator.populate(row, instance)
            for name, position in plan.annotations:
                setattr(instance, name, row[position])
            instances.append(instance)
        if plan.prefetch and instances:
            lookups = plan.prefetch
            if len(instances) == 1:
                lookups = [lookup for lookup in lookups if not lines_prefetch(instances[0], lookup, using=self.using)]
            if lookups:
                prefetch_related_objects(instances, *lookups)
        return instances

    def first(self, **values) -> Model | None:
        rows = self.all(**values)
        return rows[0] if rows else None

    def _compile(self, connection) -> _Plan:
        with self._lock:
            if connection.vendor in self._plans:
                return self._plans[connection.vendor]
            markers = {name: _marker(name, kind, index) for index, (name, kind) in enumerate(self.parameters.items())}
            queryset = self.build(**markers)
            if queryset._known_related_objects:
                raise ValueError("A compiled query cannot be built from a related manager's queryset.")
            compiler = queryset.query.get_compiler(using=self.using)
            sql, params = compiler.as_sql()
            slots = []
            for name, marker in markers.items():
                found = [i for i, value in enumerate(params) if isinstance(value, type(marker)) and value == marker]
                if len(found) != 1:
                    raise ValueError(
                        f"Parameter {name!r} appears {len(found)} times among the compiled SQL's values; a compiled "
                        "query takes each parameter once, as a plain value."
                    )
                compiled_type = type(params[found[0]])
                slots.append((found[0], name, None if compiled_type is type(marker) else compiled_type))
            sql, params, slots = _constants_inlined(connection, sql, params, slots)
            klass_info, select = compiler.klass_info, compiler.select
            select_fields = klass_info["select_fields"]
            start, end = select_fields[0], select_fields[-1] + 1
            converters = compiler.get_converters([column for column, *_rest in select[: compiler.col_count]])
            plan = _Plan(
                sql=sql,
                params=tuple(params),
                slots=tuple(slots),
                for_update=bool(queryset.query.select_for_update),
                model=klass_info["model"],
                model_columns=(start, end),
                init_list=[column.target.attname for column, *_rest in select[start:end]],
                populators=get_related_populators(klass_info, select, self.using),
                converters=tuple(
                    (position, tuple(convs), expression) for position, (convs, expression) in converters.items()
                ),
                annotations=tuple((compiler.annotation_col_map or {}).items()),
                prefetch=tuple(queryset._prefetch_related_lookups),
            )
            self._plans[connection.vendor] = plan
            return plan


# The compiled query of each plain reverse foreign key prefetched for one row (a check's declaration and its
# goods lines), by (model, lookup); None where Django's prefetch is kept.
_LINES: dict[tuple[type[Model], str], CompiledQuery | None] = {}


def lines_prefetch(instance: Model, lookup, *, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Prefetch ``lookup`` for this one instance as ``prefetch_related`` would, its query compiled (a
    compiled query's one row, and the fee's reads of a declaration's lines, clearance.services.tariffs); False
    (nothing done) for any lookup but a plain reverse foreign key to an integer key. Django's prefetch built
    and compiled the related query afresh each time, which cost more than running it: this keeps Django's
    result (the rows, each with its owner cached, held as the related manager's queryset, so a later
    ``filter()`` on it still reads only the owner's rows) and skips the building."""
    key = (type(instance), lookup)
    if key not in _LINES:
        descriptor = getattr(type(instance), lookup, None) if isinstance(lookup, str) else None
        query = None
        if type(descriptor) is ReverseManyToOneDescriptor and descriptor.field.target_field.primary_key:
            field = descriptor.field
            query = CompiledQuery(
                lambda owner_id: field.model._default_manager.filter(**{field.attname: owner_id}),
                using=using,
                owner_id=int,
            )
        _LINES[key] = query
    query = _LINES[key]
    if query is None or type(instance.pk) is not int:
        return False
    field = getattr(type(instance), lookup).field
    rows = query.all(owner_id=instance.pk)
    for row in rows:
        field.set_cached_value(row, instance)
    held = getattr(instance, lookup).get_queryset()
    held._result_cache, held._prefetch_done = rows, True
    instance.__dict__.setdefault("_prefetched_objects_cache", {})[field.remote_field.cache_name] = held
    return True


# A one-value ``IN`` list, a placeholder, or an escaped percent sign (Django doubles a literal % in SQL that
# takes parameters).
_PLACEHOLDER = re.compile(r"IN \(%s\)|%%|%s")
# Constants written as literals: what PostgreSQL's partial-index conditions and filters compare with.
_INLINED = (str, int, bool)


def _constants_inlined(connection, sql: str, params, slots):
    """``sql`` with its constant parameters (every one not in ``slots``) written as SQL literals; returns the
    new SQL, the parameters left (the call's values, None in the plan) and their slots renumbered. A slot
    whose type is ``list`` must be a one-value ``IN`` list: it becomes ``= ANY(%s)``."""
    slot_positions = {position: (name, wrapper) for position, name, wrapper in slots}
    connection.ensure_connection()
    kept, new_slots, position = [], [], -1

    def replace(match: re.Match) -> str:
        nonlocal position
        if match.group() == "%%":
            return "%%"
        position += 1
        value = params[position]
        if position in slot_positions:
            name, wrapper = slot_positions[position]
            new_slots.append((len(kept), name, wrapper))
            kept.append(None)
            if wrapper is list:
                if match.group() == "%s":
                    raise ValueError(f"Parameter {name!r} must be filtered on with ``__in``, as a list.")
                return "= ANY(%s)"  # the whole list is one array, whatever its length
            return match.group()
        if match.group() != "%s":
            return "IN (" + replace_constant(value) + ")"
        return replace_constant(value)

    def replace_constant(value) -> str:
        if isinstance(value, enum.Enum) and isinstance(value, str | int):
            value = value.value  # Django's choices (a plain Enum goes as a parameter, as psycopg sends it)
        if type(value) not in _INLINED:  # times, decimals, JSON, wrapped ints: left as parameters
            kept.append(value)
            return "%s"
        literal = psycopg_sql.Literal(value).as_string(connection.connection)
        return literal.replace("%", "%%")

    inlined = _PLACEHOLDER.sub(replace, sql)
    if position != len(params) - 1:
        raise ValueError("The compiled SQL's placeholders do not match its parameters.")
    return inlined, kept, tuple(new_slots)


class CompiledRows:
    """A ``values_list`` queryset (a union of them too) compiled once; ``rows(**values)`` is its list of
    tuples, as the database returns them (text, numbers: no field converters run). Its parameters are lists,
    each filtered on with ``__in`` in the build and sent whole as one array (``= ANY(%s)``): the statement is
    the same whatever their lengths, so PostgreSQL keeps one prepared statement for it."""

    def __init__(self, build: Callable[..., QuerySet], *, using: str = DEFAULT_DB_ALIAS, **parameters: type):
        for name, kind in parameters.items():
            if kind is not list:
                raise TypeError(f"Parameter {name!r}: a CompiledRows takes list parameters, not {kind}.")
        self.build, self.using, self.parameters = build, using, parameters
        self._plans: dict[str, tuple[str, tuple, tuple]] = {}
        self._lock = threading.Lock()

    def rows(self, **values: list) -> list[tuple]:
        connection = connections[self.using]
        if connection.vendor != "postgresql":
            return list(self.build(**values))
        sql, params, slots = self._plans.get(connection.vendor) or self._compile(connection)
        params = list(params)
        for position, name, _list in slots:
            params[position] = list(values[name])
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def _compile(self, connection) -> tuple[str, tuple, tuple]:
        with self._lock:
            if connection.vendor in self._plans:
                return self._plans[connection.vendor]
            markers = {name: _marker(name, str, index) for index, name in enumerate(self.parameters)}
            sql, params = self.build(**{name: [marker] for name, marker in markers.items()}).query.sql_with_params()
            slots = []
            for name, marker in markers.items():
                found = [i for i, value in enumerate(params) if value == marker]
                if len(found) != 1:
                    raise ValueError(f"Parameter {name!r} must appear once, as a plain ``__in`` filter.")
                slots.append((found[0], name, list))
            plan = _constants_inlined(connection, sql, params, slots)
            self._plans[connection.vendor] = plan
            return plan


_BY_KEY: dict[Hashable, CompiledQuery] = {}


def compiled_for(key: Hashable, build: Callable[..., QuerySet], **parameters: type) -> CompiledQuery:
    """The ``CompiledQuery`` kept under ``key``, made from ``build`` the first time. For queries whose shape
    depends on what the build reads besides its parameters (a kind of lane, a setting, an engine): the key
    names that, so each shape is compiled once and a changed setting gets a query of its own."""
    query = _BY_KEY.get(key)
    if query is None:
        query = _BY_KEY.setdefault(key, CompiledQuery(build, **parameters))
    return query
