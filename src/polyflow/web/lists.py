"""The shared list page: search, filters, sortable columns, pagination and CSV / Excel export of the same rows.

A list handler reads `ListParams` from the request, asks its service for one page of rows (or, for an export,
up to `EXPORT_MAX` rows from the first), and answers with `list_response`, which renders ``tenant/_list.html``
or the file. Every list and tabular report goes through it, so every one can be exported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response

from polyflow.kit.errors import InvalidInput
from polyflow.web import fmt
from polyflow.web.export import table_response
from polyflow.web.i18n import _

PAGE_SIZE = 50
EXPORT_MAX = 20_000
MAX_OFFSET = 10_000_000


@dataclass
class ListParams:
    q: str = ""
    sort: str | None = None
    desc: bool = False
    page: int = 1
    size: int = PAGE_SIZE
    export: str | None = None
    query: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(cls, request: Request, *, sorts: Sequence[str] = (), default_sort: str | None = None,
                     page_size: int = PAGE_SIZE) -> "ListParams":
        """The list's query string, checked: an unknown sort falls back to the default, a bad page is a 422."""
        qp = request.query_params
        q = (qp.get("q") or "").strip()
        if len(q) > 100:
            raise InvalidInput(_("The search is too long (at most 100 characters)"))
        raw_sort = qp.get("sort") or default_sort or ""
        desc = raw_sort.startswith("-")
        sort = raw_sort.lstrip("-") or None
        if sort not in sorts:
            default = default_sort or ""
            sort, desc = (default.lstrip("-") or None), default.startswith("-")
        try:
            page = int(qp.get("page") or 1)
        except ValueError:
            raise InvalidInput(_("The page number must be a whole number")) from None
        if page < 1 or (page - 1) * page_size > MAX_OFFSET:
            raise InvalidInput(_("The page number is out of range"))
        export = qp.get("export")
        if export not in (None, "", "csv", "xlsx"):
            raise InvalidInput(_("Export as csv or xlsx"))
        query = {k: v for k, v in qp.items() if k not in ("q", "sort", "page", "export")}
        return cls(q=q, sort=sort, desc=desc, page=page, size=page_size, export=export or None, query=query)

    @property
    def offset(self) -> int:
        return 0 if self.export else (self.page - 1) * self.size

    @property
    def limit(self) -> int:
        return EXPORT_MAX if self.export else self.size

    @property
    def order(self) -> str | None:
        """The sort as services take it: "-date" or "date"."""
        return None if self.sort is None else ("-" if self.desc else "") + self.sort

    def filter(self, name: str, default: str = "") -> str:
        value = (self.query.get(name) or default).strip()
        if len(value) > 100:
            raise InvalidInput(_("A filter is too long (at most 100 characters)"))
        return value

    def url(self, **changes: Any) -> str:
        """This list's query string with `changes` (None removes a key)."""
        params: dict[str, Any] = dict(self.query)
        if self.q:
            params["q"] = self.q
        if self.sort:
            params["sort"] = self.order
        if self.page > 1:
            params["page"] = self.page
        for key, value in changes.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value
        return "?" + urlencode(params) if params else "?"


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # English; translated when shown
    kind: str = "text"  # text | money | qty | num | date | datetime | status | pct | bool
    sort: str | None = None  # the sort key this column orders by (None: not sortable)
    href: Callable[[Any], str | None] | None = None
    value: Callable[[Any], Any] | None = None  # computes the cell from the row when there is no attribute

    def get(self, row: Any) -> Any:
        if self.value is not None:
            return self.value(row)
        if isinstance(row, dict):
            return row.get(self.key)
        return getattr(row, self.key, None)

    def show(self, row: Any) -> str:
        value = self.get(row)
        if value is None:
            return ""
        if self.kind == "money":
            return fmt.rupiah(value)
        if self.kind in ("qty", "num"):
            return fmt.num(value)
        if self.kind == "pct":
            return fmt.pct(value)
        if self.kind == "date":
            return fmt.date(value)
        if self.kind == "datetime":
            return fmt.datetime(value)
        if self.kind == "bool":
            return _("Yes") if value else _("No")
        if self.kind == "status":
            return fmt.status_label(value)
        return str(getattr(value, "value", value))

    @property
    def numeric(self) -> bool:
        return self.kind in ("money", "qty", "num", "pct")


@dataclass(frozen=True)
class Filter:
    name: str
    label: str
    options: Sequence[tuple[str, str]] = ()  # (value, English label); empty: a free text / date input
    kind: str = "select"  # select | date | text


def list_response(request: Request, p: ListParams, *, title: str, columns: Sequence[Column], rows: Sequence[Any],
                  total: int, filters: Sequence[Filter] = (), actions: Sequence[tuple[str, str]] = (),
                  filename: str | None = None, template: str = "tenant/_list.html", search: bool = True,
                  **context: Any) -> Response:
    """The list page, or its rows as a file when the request asked for ?export=csv|xlsx.

    `title` and column labels are already translated by the caller (`_()`), so the export headers read the same
    as the page."""
    if p.export:
        return table_response(p.export, filename or title, [c.label for c in columns],
                              ([c.get(r) for c in columns] for r in rows))
    from polyflow.web import render

    pages = max(1, -(-total // p.size))
    context.setdefault("viewer", getattr(request.state, "viewer", None))
    response = render(request, template, title=title, columns=columns, rows=rows, total=total, p=p, pages=pages,
                      filters=filters, actions=actions, search=search, **context)
    response.headers["Cache-Control"] = "no-store"
    return response
