"""Reading a posted form the way people expect: every field checked, every problem shown next to its field, and
what was typed kept for the page that comes back (status 422). Getters never raise; they collect errors.

    f = Form(await signed_form(request, principal))
    name = f.text("name", required=True)
    price = f.number("price", min=0)
    if not f.ok:
        return page(request, "tenant/x.html", 422, form=f)
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal
from typing import Iterable

from starlette.datastructures import FormData

from polyflow.web import fmt
from polyflow.web.i18n import _
from polyflow.web.numbers import parse_number

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Form:
    """A posted form (or a dict of initial values for a new one)."""

    def __init__(self, data: FormData | dict | None = None):
        self.data = data if data is not None else {}
        self.errors: dict[str, str] = {}
        self.understood: dict[str, str] = {}  # number fields: what was read, in the reader's format

    @property
    def ok(self) -> bool:
        return not self.errors

    def raw(self, name: str, default: str = "") -> str:
        """What was typed in `name` (for the page that comes back)."""
        value = self.data.get(name) if hasattr(self.data, "get") else None
        if value is None:
            return default
        if isinstance(value, (Decimal, int, float)) and not isinstance(value, bool):
            return fmt.input_num(value)
        if isinstance(value, date):
            return value.isoformat()
        return value if isinstance(value, str) else str(value)

    def raw_list(self, name: str) -> list[str]:
        if isinstance(self.data, FormData):
            return [v for v in self.data.getlist(name) if isinstance(v, str)]
        value = self.data.get(name)
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value]
        return [] if value in (None, "") else [str(value)]

    def fail(self, name: str, message: str) -> None:
        """Attach a problem to field `name` (the first one wins)."""
        self.errors.setdefault(name, message)

    def schema_errors(self, exc, *, fields: Iterable[str] | None = None, rename: dict[str, str] | None = None,
                      other=None) -> None:
        """A pydantic ValidationError's refusals placed next to the fields they concern.

        An error whose first location is one of `fields` (default: a field this form posted) goes to that field,
        renamed through `rename`; any other (a rule over several fields) to `other(message)`, by default the top
        of the form ("__all__")."""
        known = None if fields is None else set(fields)
        for error in exc.errors():
            loc = [str(part) for part in error.get("loc", ())]
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            if loc and (loc[0] in self.data if known is None else loc[0] in known):
                self.fail((rename or {}).get(loc[0], loc[0]), message)
            elif other is not None:
                other(message)
            else:
                self.fail("__all__", message)

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    # -- typed getters -----------------------------------------------------------------------------------
    def text(self, name: str, *, required: bool = False, max_length: int = 200, multiline: bool = False) -> str:
        value = self.raw(name)
        value = value.strip() if not multiline else value.strip("\r\n ")
        if required and not value:
            self.fail(name, _("This field is required"))
        elif len(value) > max_length:
            self.fail(name, _("At most %(n)s characters", n=max_length))
        elif _CONTROL.search(value) or (not multiline and ("\n" in value or "\r" in value)):
            self.fail(name, _("Contains characters that are not allowed"))
        return value

    def number(self, name: str, *, required: bool = False, min: Decimal | int | None = None,
               max: Decimal | int | None = None, places: int | None = None, positive: bool = False) -> Decimal | None:
        typed = self.raw(name).strip()
        if not typed:
            if required:
                self.fail(name, _("This field is required"))
            return None
        try:
            value = parse_number(typed)
        except ValueError as exc:
            self.fail(name, str(exc))
            return None
        self.understood[name] = fmt.num(value)
        if places is not None and value != value.quantize(Decimal(1).scaleb(-places)):
            self.fail(name, _("At most %(n)s decimals", n=places) if places else _("Whole numbers only"))
        elif positive and value <= 0:
            self.fail(name, _("Must be more than 0"))
        elif min is not None and value < Decimal(min):
            self.fail(name, _("Must be at least %(n)s", n=fmt.num(min)))
        elif max is not None and value > Decimal(max):
            self.fail(name, _("Must be at most %(n)s", n=fmt.num(max)))
        return value

    def integer(self, name: str, *, required: bool = False, min: int | None = None,
                max: int | None = None) -> int | None:
        value = self.number(name, required=required, min=min, max=max, places=0)
        return None if value is None or name in self.errors else int(value)

    def date(self, name: str, *, required: bool = False) -> date | None:
        typed = self.raw(name).strip()
        if not typed:
            if required:
                self.fail(name, _("This field is required"))
            return None
        try:
            return date.fromisoformat(typed)
        except ValueError:
            self.fail(name, _("Not a valid date"))
            return None

    def choice(self, name: str, options: Iterable[str], *, required: bool = False) -> str | None:
        typed = self.raw(name).strip()
        if not typed:
            if required:
                self.fail(name, _("Choose one"))
            return None
        if typed not in set(options):
            self.fail(name, _("Not one of the choices"))
            return None
        return typed

    def uuid(self, name: str, *, required: bool = False) -> uuid.UUID | None:
        typed = self.raw(name).strip()
        if not typed:
            if required:
                self.fail(name, _("Choose one"))
            return None
        try:
            return uuid.UUID(typed)
        except ValueError:
            self.fail(name, _("Not one of the choices"))
            return None

    def bool(self, name: str) -> bool:
        return self.raw(name).strip().lower() in ("1", "on", "true", "yes", "y")
