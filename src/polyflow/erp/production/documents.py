"""The production order ticket (SPK, surat perintah kerja) printed for the floor: what to make, on which
machine, from which materials in what quantities, and an empty table where the operators write their output
per shift by hand (rolls / bales, bruto, bobin, scrap)."""

from __future__ import annotations

from polyflow.erp.production.pages.common import PRIORITY_LABELS, STAGE_LABELS, label
from polyflow.web import fmt
from polyflow.web.i18n import _
from polyflow.web.pdf import Company, Document

BLANK_ROWS = 10  # rows left empty for the operators


def order_ticket(d: dict, settings, brand: str) -> Document:
    """The SPK of one order (`d` as the order page reads it) under the company's letterhead."""
    o = d["order"]
    product = d["variants"].get(o.variant_id)
    machine = d["machines"].get(o.machine_id)
    company = Company(name=settings.company_name or brand, address=settings.address, npwp=settings.npwp,
                      phone=settings.phone, email=settings.email)
    doc = Document(_("PRODUCTION ORDER (SPK)"), company, number=o.number or _("(draft)"))
    unit = product.product.unit if product else ""
    step = d["route_step"]
    run = d["run"]
    doc.kv([
        (_("Product"), f"{product.sku} - {product.product.name}" if product else ""),
        (_("Quantity"), f"{fmt.qty(o.quantity)} {unit}"),
        (_("Stage"), label(STAGE_LABELS, o.stage)),
        (_("Machine"), f"{machine.code} - {machine.name}" if machine else "-"),
        (_("Route step"), (f"{run.number or ''} " if run else "") + (_("step %(n)s", n=step.seq) if step else "-")),
        (_("Priority"), label(PRIORITY_LABELS, o.priority)),
        (_("Planned start"), fmt.date(o.planned_start) or "-"),
        (_("Due date"), fmt.date(o.due_date) or "-"),
        (_("Materials from"), d["source"].code if d["source"] else "-"),
        (_("Output to"), d["output"].code if d["output"] else "-"),
    ])
    if o.materials:
        doc.paragraph(_("Materials (BOM)"), bold=True)
        rows = [(m.line_no, m.sku, fmt.qty(m.qty_per_unit), fmt.qty(m.planned_qty), fmt.qty(m.issued_qty),
                 d["variants"][m.variant_id].product.unit if m.variant_id in d["variants"] else "")
                for m in o.materials]
        doc.table([_("No."), _("SKU"), _("Per unit"), _("Planned"), _("Issued"), _("Unit")], rows,
                  [12, 66, 26, 28, 28, 20], ["C", "L", "R", "R", "R", "C"])
    if o.note:
        doc.paragraph(f"{_('Note')}: {o.note}", italic=True)
    doc.paragraph(_("Output per shift (written by the operators)"), bold=True)
    headers = [_("Date"), _("Shift"), _("Operator"), _("Roll / bale no."), _("Bruto kg"), _("Bobin kg"),
               _("Net kg"), _("Scrap kg")]
    doc.table(headers, [[""] * len(headers) for _row in range(BLANK_ROWS)], [20, 15, 33, 30, 21, 21, 20, 20],
              ["L", "C", "L", "L", "R", "R", "R", "R"])
    doc.signatures([_("Issued by"), _("Supervisor"), _("Operator")])
    return doc
