"""A statement compiled once to the dialect's SQL text and parameter order, with the
type processors SQLAlchemy would apply, so the hot path (``_fast_path``) runs it
without SQLAlchemy's per-statement machinery."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

__all__ = ["Prepared"]

Processor = Callable[[Any], Any]


class Prepared:
    """One statement as the driver wants it: SQL text, and how to turn the store's
    named values into the driver's parameters (order, type processors)."""

    __slots__ = ("names", "positional", "processors", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if compiled.escaped_bind_names or compiled.post_compile_params:
            raise ValueError("statements with escaped or expanding parameters are not prepared")
        self.sql: str = compiled.string
        self.positional: bool = compiled.positional
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        self.names: tuple[str, ...] = tuple(names or ())
        # The same conversions SQLAlchemy applies (e.g. bytes -> DBAPI Binary, float
        # coercion on SQLite), looked up once instead of per execution.
        processors: dict[str, Processor] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        self.processors = processors

    def parameters(self, values: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        if self.processors:
            values = dict(values)
            for name, processor in self.processors.items():
                values[name] = processor(values[name])
        if self.positional:
            return tuple([values[name] for name in self.names])
        return values
