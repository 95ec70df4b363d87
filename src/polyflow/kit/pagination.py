"""Pagination shared by list endpoints: a hard page cap, offsets for short lists, keyset cursors for lists
that grow with history (journals, stock movements, ledgers).

- ``limit`` above ``MAX_PAGE_SIZE`` (200) is clamped, not refused: the answer says the limit it used; above
  ``MAX_LIMIT_ACCEPTED`` (500, the range accepted before the cap) it is a 422 as it always was.
- A keyset page carries ``next_cursor`` (None on the last page); pass it back as ``cursor`` to get the
  rows after it. A cursor is an opaque token of the sort and the last row's sort key, so the next page
  costs an index range scan however deep it is (an offset re-reads every row before it), and rows sharing
  a date are neither repeated nor skipped (the key ends with a unique column).
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Callable, Generic, Sequence, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import and_, or_

from polyflow.kit.errors import InvalidInput

T = TypeVar("T")

# The most rows any list or report page returns, whatever `limit` asks.
MAX_PAGE_SIZE = 200
# Lists whose rows carry lines (journal entries): a page also ends before the row that would take it past
# this many lines (it always holds at least one row). Measured (bench/page_serialisation.py): 2,000 lines
# keep the loop busy about 23 ms, 100,000 lines (200 entries x 500) over a second.
MAX_PAGE_LINES = 1000
# `limit` above this is a 422 (the range clients have always been allowed); from MAX_PAGE_SIZE up to it, the
# page is simply MAX_PAGE_SIZE rows, and the answer's `limit` says so.
MAX_LIMIT_ACCEPTED = 500
DEFAULT_PAGE_SIZE = 50


class Page(BaseModel, Generic[T]):
    """A page of a short list (master data): offsets."""

    items: list[T]
    total: int
    limit: int
    offset: int


class CursorPage(BaseModel, Generic[T]):
    """A page of a list that grows with history: follow ``next_cursor``."""

    items: list[T]
    # Rows matching the filters; not counted again on pages fetched with a cursor (None there).
    total: int | None
    limit: int
    offset: int
    # The `cursor` for the next page; None when this is the last one.
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int = DEFAULT_PAGE_SIZE
    offset: int = 0
    cursor: str | None = None


def clamp(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE_SIZE))


_LIMIT_DOC = f"Page size: up to {MAX_LIMIT_ACCEPTED} accepted, at most {MAX_PAGE_SIZE} rows served (clamped)"


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT_ACCEPTED, description=_LIMIT_DOC)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip")] = 0,
) -> PageParams:
    return PageParams(limit=clamp(limit), offset=offset)


def keyset_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT_ACCEPTED, description=_LIMIT_DOC)] = DEFAULT_PAGE_SIZE,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip (prefer `cursor`)")] = 0,
    cursor: Annotated[str | None, Query(max_length=300, description="`next_cursor` of the previous page")] = None,
) -> PageParams:
    if cursor is not None and offset:
        raise InvalidInput("give either `offset` or `cursor`, not both")
    return PageParams(limit=clamp(limit), offset=offset, cursor=cursor)


def report_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT_ACCEPTED, description=_LIMIT_DOC)] = MAX_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=300, description="`next_cursor` of the previous page")] = None,
) -> PageParams:
    """Reports with a running balance: a full page by default, then the cursor."""
    return PageParams(limit=clamp(limit), cursor=cursor)


# -- cursors ------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (int, str)):
        return value
    return str(value)  # UUID, Decimal


def bigint(value: Any) -> int:
    """A cursor's integer key (a BIGINT id); ValueError outside its range."""
    number = int(value)
    if not -2**63 <= number < 2**63:
        raise ValueError("out of range")
    return number


def amount(value: Any) -> Decimal:
    """A cursor's carried sum; ValueError unless a plain finite decimal."""
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError("not finite")
    return number


def encode_cursor(tag: str, values: Sequence[Any]) -> str:
    """An opaque token for (the sort it belongs to, the last row's key)."""
    raw = json.dumps([tag, *(_plain(v) for v in values)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, tag: str, types: Sequence[Callable[[Any], Any]]) -> tuple:
    """The key in ``token``; InvalidInput (422) if it is damaged or belongs to another sort or list."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(data, list) or len(data) != len(types) + 1 or data[0] != tag:
            raise ValueError
        return tuple(convert(value) for convert, value in zip(types, data[1:]))
    except (ValueError, TypeError, UnicodeDecodeError, InvalidOperation):
        raise InvalidInput("invalid `cursor`: pass back the `next_cursor` of the previous page, with the same "
                           "sort and filters") from None


def after(columns: Sequence[Any], key: Sequence[Any], *, descending: bool = False):
    """The rows strictly after ``key`` in the order of ``columns`` (all ascending, or all descending).

    Spelled out as ``c1 > k1 OR (c1 = k1 AND c2 > k2) ...`` plus ``c1 >= k1`` so that an index on the first
    column alone serves the range (a row comparison needs an index on all of them)."""
    def beyond(column, value):
        return column < value if descending else column > value

    terms = []
    for i, (column, value) in enumerate(zip(columns, key)):
        terms.append(and_(*(c == v for c, v in zip(columns[:i], key[:i])), beyond(column, value)))
    first = columns[0] <= key[0] if descending else columns[0] >= key[0]
    return and_(first, or_(*terms))
