"""A queryset compiled to SQL once per process, then run with new parameters on every call.

Why: on the hot paths (the wallet lock of every money movement, the wallet read) Django spent more
CPU building and compiling the same queryset than PostgreSQL spent answering it: about 0.4 ms of
Python for a `SELECT ... FOR NO KEY UPDATE` of two rows (README, Performance). The SQL stays the
ORM's own: `CompiledQuery` builds the queryset from the same expression the code would run (e.g.
`select_for_update(no_key=True)`), compiles it with placeholder values, remembers where each
placeholder went in the parameter list, and afterwards only substitutes the values and executes.
The rows come back as model instances (`Model.from_db`), exactly what iterating the queryset gives.

The arguments are UUIDs or lists of UUIDs (ids are what the hot paths look up), or strings
compared with a text field (an owner's user id): a UUID field keeps a UUID as it is while
compiling, and a text field a string, so a reserved UUID or string marks where each value goes. A
shape is keyed by the length of each list (`id__in` with two ids is another statement than with
one). Only
plain `filter`/`order_by`/`select_for_update` querysets of one model fit (a queryset that turns an
argument into something else is refused); `tests/test_compiled.py` checks each compiled statement
equals a fresh compile of the same queryset.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.db import connections, models

M = TypeVar("M", bound=models.Model)
_Statement = tuple[str, list[Any], list[str], list[tuple[int, Any]]]
_TEXT = -1  # a shape's entry for a string argument (a list's is its length, a UUID's None)


class _Constant:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


_UUID_MARK = 0xC0FF_EE00
_LOW = 0xFFFF_FFFF


def _placeholder(index: int, item: int | None) -> uuid.UUID:
    # Reserved: the version nibble is 0, which uuid4() never produces.
    return uuid.UUID(int=(_UUID_MARK << 96) | (index << 32) | (item if item is not None else _LOW))


# Reserved: no user id or other constant of a query starts with a NUL character.
_TEXT_MARK = "\x00compiled-argument:"


def _text_placeholder(index: int) -> str:
    return f"{_TEXT_MARK}{index}"


def _argument(args: tuple[Any, ...], slot: tuple[int, int | None]) -> Any:
    value = args[slot[0]]
    return value if slot[1] is None else value[slot[1]]


class CompiledQuery(Generic[M]):
    """`build(*args)` returns the queryset; `run(*args)` returns its rows as model instances.
    Each argument is a UUID, a list of UUIDs or a string."""

    def __init__(
        self, model: type[M], build: Callable[..., models.QuerySet[M]], *, using: str = "default"
    ) -> None:
        self.model = model
        self.build = build
        self.using = using
        self._shapes: dict[tuple[int | None, ...], _Statement] = {}

    def statement(self, *args: Any) -> _Statement:
        """The compiled SQL for this shape of arguments, its parameters with placeholders, the
        columns each row brings (attribute names, in order) and the converters of those columns."""
        shape = tuple(
            len(a) if isinstance(a, (list, tuple)) else _TEXT if isinstance(a, str) else None for a in args
        )
        cached = self._shapes.get(shape)
        if cached is not None:
            return cached
        placeholders = [
            _text_placeholder(i)
            if n == _TEXT
            else [_placeholder(i, j) for j in range(n)]
            if n is not None
            else _placeholder(i, None)
            for i, n in enumerate(shape)
        ]
        queryset = self.build(*placeholders)
        compiler = queryset.query.get_compiler(using=self.using)
        sql, params = compiler.as_sql()
        columns = [col.target.attname for col, _, _ in compiler.select]
        if [f.attname for f in self.model._meta.concrete_fields] != columns:
            raise TypeError(f"{self.model.__name__}: a compiled query must select every concrete field")
        # Fields that convert what the database returns (JSON, for one) keep doing so.
        converters = compiler.get_converters([col for col, _, _ in compiler.select])
        slots = self._slots(params)
        expected = {
            (i, j) for i, n in enumerate(shape) for j in ([None] if n is None or n == _TEXT else range(n))
        }
        if {slot for slot in slots if type(slot) is tuple} != expected:
            raise TypeError(f"{self.model.__name__}: every argument must reach the SQL as itself")
        compiled = (sql, slots, columns, list(converters.items()))
        self._shapes[shape] = compiled
        return compiled

    @staticmethod
    def _slots(params: Sequence[Any]) -> list[Any]:
        """Each compiled parameter as the argument slot it came from, or the constant it is."""
        slots: list[Any] = []
        for param in params:
            if isinstance(param, uuid.UUID) and (param.int >> 96) == _UUID_MARK:
                index, item = (param.int >> 32) & _LOW, param.int & _LOW
                slots.append((index, None if item == _LOW else item))
            elif isinstance(param, str) and param.startswith(_TEXT_MARK):
                slots.append((int(param[len(_TEXT_MARK) :]), None))
            else:
                slots.append(_Constant(param))
        return slots

    def run(self, *args: Any) -> list[M]:
        sql, params, columns, converters = self.statement(*args)
        connection = connections[self.using]
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [slot.value if type(slot) is _Constant else _argument(args, slot) for slot in params],
            )
            rows = cursor.fetchall()
        if converters:
            rows = [_convert(list(row), converters, connection) for row in rows]
        from_db = self.model.from_db
        return [from_db(self.using, columns, row) for row in rows]


def _convert(row: list[Any], converters: list[tuple[int, Any]], connection: Any) -> list[Any]:
    for position, (functions, expression) in converters:
        value = row[position]
        for function in functions:
            value = function(value, expression, connection)
        row[position] = value
    return row
