"""The stock forms: receive, issue, transfer and adjust. Each posts one movement through the same service as
the JSON API (its journal in the same transaction) and goes to the movement history with the new number; a
refusal shows the form again with what was typed and the reason next to its field."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from polyflow.erp.inventory import reads, service
from polyflow.erp.inventory.pages.common import REASONS, location_choices
from polyflow.erp.inventory.schemas import MovementIn
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in
from polyflow.kit.errors import PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import fmt
from polyflow.web.forms import Form
from polyflow.web.i18n import _

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

# path -> (movement kind, English title)
FORMS = {"receive": ("IN", "Receive stock"), "issue": ("OUT", "Issue stock"),
         "transfer": ("TRANSFER", "Transfer stock"), "adjust": ("ADJUSTMENT", "Adjust stock")}
DIRECTIONS = (("in", "Found: add to the stock"), ("out", "Missing: take from the stock"))
FIELDS = ("sku", "quantity", "unit", "from_location", "to_location", "location", "unit_cost", "reason",
          "reference", "note", "posting_date", "direction")


async def _render(request: Request, session, action: str, form: Form, status_code: int = 200) -> HTMLResponse:
    kind, title = FORMS[action]
    return page(request, "tenant/stock/move_form.html", status_code, form=form, action=action, kind=kind,
                title=_(title), locations=await location_choices(session, by="code"),
                variants=await reads.movable_variants(session),
                reasons=[(k, _(label)) for k, label in REASONS[kind]],
                directions=[(k, _(label)) for k, label in DIRECTIONS])


def _read(f: Form, kind: str) -> dict:
    """The movement the form describes (problems collected on `f`)."""
    data = {"kind": kind, "sku": f.text("sku", required=True, max_length=64) or None,
            "quantity": f.number("quantity", required=True, positive=True, places=3),
            "unit": f.text("unit", max_length=16).upper() or None,
            "reference": f.text("reference", max_length=100) or None,
            "note": f.text("note", max_length=500, multiline=True) or None,
            "posting_date": f.date("posting_date")}
    if REASONS[kind]:
        data["reason"] = f.choice("reason", [k for k, _label in REASONS[kind]], required=True)
    if kind == "IN":
        data["to_location"] = f.text("to_location", required=True, max_length=64)
    elif kind == "OUT":
        data["from_location"] = f.text("from_location", required=True, max_length=64)
    elif kind == "TRANSFER":
        data["from_location"] = f.text("from_location", required=True, max_length=64)
        data["to_location"] = f.text("to_location", required=True, max_length=64)
        if data["from_location"] and data["from_location"] == data["to_location"]:
            f.fail("to_location", _("Choose another location than the source"))
    else:
        direction = f.choice("direction", ("in", "out"), required=True)
        location = f.text("location", required=True, max_length=64)
        data["to_location" if direction == "in" else "from_location"] = location
    if kind == "IN" or (kind == "ADJUSTMENT" and data.get("to_location")):
        data["unit_cost"] = f.number("unit_cost", required=kind == "IN", min=0, places=4)
    return data


# Where a service refusal is shown: the first field whose words its message contains.
_ERROR_FIELDS = (("unknown variant", "sku"), ("inactive", "sku"), ("is a service", "sku"), ("unit_cost", "unit_cost"),
                 ("unit", "unit"), ("insufficient stock", "quantity"), ("quantity", "quantity"),
                 ("quarantine", "from_location"), ("source location", "from_location"),
                 ("destination location", "to_location"), ("two different locations", "to_location"),
                 ("reason", "reason"), ("posting", "posting_date"), ("period", "posting_date"),
                 ("lock", "posting_date"))


def _place_error(f: Form, kind: str, message: str) -> None:
    lowered = message.lower()
    name = next((field for words, field in _ERROR_FIELDS if words in lowered), "__all__")
    if kind == "ADJUSTMENT" and name in ("from_location", "to_location"):
        name = "location"
    f.fail(name, message)


def _handlers(action: str):
    kind, _title = FORMS[action]

    async def show(request: Request, session: TenantSession):
        await signed_in(request, session, "inventory.write")
        initial = {"posting_date": fmt.today().isoformat(), "direction": "in",
                   "reason": REASONS[kind][0][0] if REASONS[kind] else ""}
        for name in ("sku", "from_location", "to_location", "location"):
            if request.query_params.get(name):
                initial[name] = request.query_params[name][:64]
        return await _render(request, session, action, Form(initial))

    async def post(request: Request, session: TenantSession):
        principal = await signed_in(request, session, "inventory.write")
        f = Form(await signed_form(request, principal))
        data = _read(f, kind)
        if f.ok:
            try:
                movement = await service.create_movement(
                    session, MovementIn(**{k: v for k, v in data.items() if v is not None}), user_id=principal.id,
                    may_choose_account=principal.can("accounting.write"))
                return see_other(f"/stock/moves?done={kind}&movement={movement.id}")
            except ValidationError as exc:
                # an adjustment's form has one location field for the schema's from/to location
                moved = {name: "location" for name in FIELDS if "location" in name} if kind == "ADJUSTMENT" else None
                f.schema_errors(exc, fields=FIELDS, rename=moved)
            except PolyflowError as exc:
                await session.rollback()
                _place_error(f, kind, exc.message)
                return await _render(request, session, action, f, exc.status_code)
        return await _render(request, session, action, f, 422)

    show.__doc__ = f"The {action} form."
    post.__doc__ = f"Post a stock {action} from the form; then the movement history with its number."
    show.__name__, post.__name__ = f"{action}_form", f"post_{action}"
    return html_page(show), html_page(post)


for _action in FORMS:
    _show, _post = _handlers(_action)
    router.add_api_route(f"/stock/{_action}", _show, methods=["GET"])
    router.add_api_route(f"/stock/{_action}", _post, methods=["POST"])
