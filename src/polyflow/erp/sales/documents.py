"""The sales documents on paper: the surat jalan (delivery note: quantities, no prices) and the faktur (sales
invoice: both parties' NPWP, DPP / PPN, the total in words), drawn on `polyflow.web.pdf.Document` under the
company's letterhead. Labels follow the reader's language; the amount in words is always Bahasa Indonesia."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.tax import service as tax
from polyflow.kit.terbilang import terbilang
from polyflow.web import fmt
from polyflow.web.i18n import _
from polyflow.web.pdf import Company, Document


async def letterhead(session: AsyncSession) -> Company:
    """The company's name, address, NPWP and contacts (settings; the tax profile fills what they lack)."""
    settings = await accounting.get_settings(session)
    profile = await tax.get_company(session)
    return Company(name=settings.company_name or profile.legal_name or "", address=settings.address or profile.address,
                   npwp=settings.npwp or profile.npwp, phone=settings.phone, email=settings.email)


def _partner_lines(partner) -> str:
    return "\n".join(x for x in (partner.name, partner.address) if x) if partner is not None else ""


def surat_jalan(company: Company, delivery, order, customer, lines: list[dict]) -> Document:
    """The delivery note: who receives what, how many, in which unit, on which vehicle; three signatures."""
    doc = Document(_("DELIVERY NOTE"), company, number=delivery.number or _("DRAFT"))
    doc.kv([
        (_("Date"), fmt.date(delivery.delivery_date)),
        (_("Sales order"), order.number or "-"),
        (_("Customer PO number"), order.customer_reference or "-"),
        (_("Deliver to"), _partner_lines(customer)),
        (_("Vehicle"), delivery.vehicle or "-"),
    ], label_width=45)
    doc.table([_("No."), _("Code"), _("Product"), _("Qty"), _("Unit")],
              [[ln["no"], ln["sku"], ln["description"], fmt.qty(ln["quantity"]), ln["unit"]] for ln in lines],
              widths=[12, 38, 80, 30, 20], aligns=["C", "L", "L", "R", "L"])
    if delivery.note:
        doc.paragraph(delivery.note, italic=True)
    doc.paragraph(_("Goods received in good condition and in the quantities above."), size=8.5)
    doc.signatures([_("Received by"), _("Driver"), _("Warehouse")])
    return doc


def faktur(company: Company, invoice, order, customer) -> Document:
    """The sales invoice: seller and buyer with NPWP, lines, DPP / DPP nilai lain / PPN / total, the total
    in words, the due date and payment terms; a signature."""
    doc = Document(_("INVOICE"), company, number=invoice.number or _("DRAFT"))
    terms = (invoice.due_date - invoice.invoice_date).days
    days = _("%(n)s days", n=terms)
    buyer_npwp = invoice.buyer_tin or (customer.npwp if customer is not None else None)
    doc.kv([
        (_("Invoice date"), fmt.date(invoice.invoice_date)),
        (_("Due date"), f"{fmt.date(invoice.due_date)} ({days})"),
        (_("Sales order"), (order.number if order is not None else None) or "-"),
        (_("Bill to"), invoice.buyer_name or _partner_lines(customer)),
        (_("Address"), invoice.buyer_address or (customer.address if customer is not None else None) or "-"),
        (_("Buyer NPWP / NIK"), buyer_npwp or "-"),
        (_("Seller NPWP"), company.npwp or "-"),
    ], label_width=45)
    doc.table([_("No."), _("Code"), _("Product"), _("Qty"), _("Unit"), _("Unit price"), _("Amount")],
              [[ln.line_no, ln.item_code, ln.description, fmt.qty(ln.quantity), ln.unit_code,
                fmt.rupiah(ln.unit_price), fmt.rupiah(ln.amount)] for ln in invoice.lines],
              widths=[10, 28, 52, 20, 14, 26, 30], aligns=["C", "L", "L", "R", "L", "R", "R"])
    rates = " ".join(fmt.pct(r, 0) for r in sorted({ln.tax_rate for ln in invoice.lines}))
    totals = [(_("DPP"), fmt.rupiah(invoice.base))]
    if invoice.other_base and invoice.other_base != invoice.base:
        totals.append((_("DPP nilai lain (11/12)"), fmt.rupiah(invoice.other_base)))
    totals.append((_("PPN %(rates)s", rates=rates).strip(), fmt.rupiah(invoice.tax)))
    if invoice.dp_base_deducted:
        totals.append((_("Less down payments (DPP + PPN)"),
                       fmt.rupiah(-(invoice.dp_base_deducted + invoice.dp_tax_deducted))))
    totals.append((_("Total"), fmt.rupiah(invoice.total)))
    doc.totals(totals, width=95)
    doc.paragraph(_("In words: %(amount)s", amount=terbilang(invoice.total)), bold=True)
    doc.paragraph(_("Payment due %(due)s, %(n)s days after the invoice date. Please quote the invoice number "
                    "with your payment.", due=fmt.date(invoice.due_date), n=terms), size=8.5)
    if invoice.note:
        doc.paragraph(invoice.note, italic=True, size=8.5)
    doc.signatures([_("Yours faithfully")])
    return doc
