"""``RowidHints``: where the SQLite store last found each record."""

from __future__ import annotations

__all__ = ["RowidHints"]


class RowidHints:
    """Where recently read records sit in the table (their rowids), so that the
    next read or write of one goes straight down the table's b-tree instead of
    first down the id index too: a third less b-tree work per load and save,
    and one page fewer to find in a large table. Only a hint: a statement that
    uses one also checks the id, and an answer of "no such row" is asked again
    by id. Shared by threads (single dict operations are atomic); forgotten all
    at once when full."""

    __slots__ = ("_rowids",)

    LIMIT = 10_000  # about 1.5 MB

    def __init__(self) -> None:
        self._rowids: dict[str, int] = {}

    def get(self, id: str) -> int | None:
        return self._rowids.get(id)

    def note(self, id: str, rowid: int) -> None:
        rowids = self._rowids
        if len(rowids) >= self.LIMIT:
            rowids.clear()
        rowids[id] = rowid

    def forget(self, id: str) -> None:
        self._rowids.pop(id, None)

    def clear(self) -> None:
        self._rowids.clear()
