"""The database selector: db0…dbN with their key counts from INFO keyspace."""

from __future__ import annotations

from textual.widgets import Select


class DbSelector(Select[int]):
    """A compact `Select` whose labels carry key counts; changes post `Select.Changed`."""

    DEFAULT_CSS = """
    DbSelector { width: 22; }
    """

    def __init__(self, databases: int = 16, current: int = 0, *, id: str | None = None) -> None:
        self.databases = databases
        self.counts: dict[int, int] = {}
        super().__init__(self._db_options(), value=current, allow_blank=False, compact=True, id=id)

    def _db_options(self) -> list[tuple[str, int]]:
        return [
            (f"db{db}" + (f" ({self.counts[db]:,} keys)" if self.counts.get(db) else ""), db)
            for db in range(self.databases)
        ]

    def update_counts(self, counts: dict[int, int], databases: int | None = None) -> None:
        """Relabel the options when counts (or the number of databases) changed."""
        if counts == self.counts and (databases is None or databases == self.databases):
            return
        self.counts = dict(counts)
        if databases:
            self.databases = databases
        if self.expanded:
            return  # do not rebuild the overlay under the user's pointer
        current = self.value
        with self.prevent(Select.Changed):
            self.set_options(self._db_options())
            if isinstance(current, int) and current < self.databases:
                self.value = current
            self.mutate_reactive(Select.value)  # type: ignore[misc]  # redraw the label even when the value is unchanged (Textual's reactive descriptor)
