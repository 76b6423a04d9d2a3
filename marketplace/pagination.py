"""One way to paginate a ``select()``: two queries (count, page), whatever the data size.

``Page`` is what the ``pagination`` macro in ``templates/macros/ui.html`` renders.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select

from marketplace.extensions import db

T = TypeVar("T")
MAX_PAGE = 10_000  # beyond this a page number is nonsense (and an expensive OFFSET)


@dataclass
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        """1-based position of the first item on this page (0 when empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: first, last and ``around`` either side of the current one;
        ``None`` marks a gap (rendered as "…")."""
        wanted = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        numbers = sorted(n for n in wanted if 1 <= n <= self.pages)
        result: list[int | None] = []
        for number in numbers:
            previous = result[-1] if result else None
            if previous is not None and number - previous == 2:
                result.append(previous + 1)  # a gap of one page: show it rather than "…"
            elif previous is not None and number - previous > 2:
                result.append(None)
            result.append(number)
        return result

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def parse_page(value: Any) -> int:
    """A page number from a query-string value; anything invalid means page 1."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


def paginate(stmt: Select, page: Any, per_page: int = 20) -> Page:
    """Run ``stmt`` (an ordered select of ORM entities) for one page.

    Out-of-range page numbers are clamped to the last page, so a stale link still shows results.
    """
    page_number = parse_page(page)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page_number = min(page_number, pages)
    items: list[Any] = []
    if total:
        rows = db.session.scalars(stmt.limit(per_page).offset((page_number - 1) * per_page))
        items = list(rows.unique().all())
    return Page(items=items, page=page_number, per_page=per_page, total=total)


def paginate_ids(id_stmt: Select, page: Any, per_page: int, load: Callable[[list[Any]], Sequence[T]], *,
                 leading_ids: Sequence[Any] = ()) -> Page[T]:
    """Paginate an ordered select of *ids*, then ``load(ids)`` the page's objects (kept in id order).

    For wide rows: counting and sorting narrow id rows, then loading only one page of full
    rows, is much cheaper than sorting the full rows ("deferred join"). ``leading_ids`` (ids the
    statement excludes, e.g. featured entries) come first, in the given order.
    """
    page_number = parse_page(page)
    total = len(leading_ids) + (db.session.scalar(
        select(func.count()).select_from(id_stmt.order_by(None).subquery())) or 0)
    page_number = min(page_number, max(1, math.ceil(total / per_page)))
    start = (page_number - 1) * per_page
    ids = list(leading_ids[start:start + per_page])
    if len(ids) < per_page and total > len(leading_ids):
        rest = id_stmt.limit(per_page - len(ids)).offset(max(0, start - len(leading_ids)))
        ids += list(db.session.scalars(rest))
    by_id = {getattr(item, "id", None): item for item in load(ids)} if ids else {}
    items = [by_id[i] for i in ids if i in by_id]
    return Page(items=items, page=page_number, per_page=per_page, total=total)
