"""The printable purchase order (PDF, on the shared web.pdf Document): the supplier with its NPWP, the lines,
DPP / PPN / total, where and when to deliver, the terms, and signatures. Written in the reader's language."""

from __future__ import annotations

from polyflow.erp.models import Partner, PurchaseOrder
from polyflow.web import fmt
from polyflow.web.i18n import _
from polyflow.web.pdf import Company, Document

WIDTHS = (9, 58, 22, 13, 28, 16, 34)  # mm, 180 in all


def npwp_text(value: str | None) -> str:
    """An NPWP as printed: the 15-digit form grouped 99.999.999.9-999.999, 16 digits as they are."""
    if not value:
        return "-"
    if len(value) == 15 and value.isdigit():
        return f"{value[:2]}.{value[2:5]}.{value[5:8]}.{value[8]}-{value[9:12]}.{value[12:]}"
    return value


def purchase_order(order: PurchaseOrder, company: Company, supplier: Partner, variants: dict) -> Document:
    """The PO document of `order` (a draft prints as such, without a number); `variants`: id -> variant."""
    doc = Document(_("PURCHASE ORDER") if order.status != "draft" else _("PURCHASE ORDER (DRAFT)"), company,
                   number=order.number)
    address = ", ".join(part for part in (supplier.address, supplier.city) if part) or "-"
    doc.kv([
        (_("Supplier"), f"{supplier.name} ({supplier.code})"),
        (_("Address"), address),
        (_("Supplier NPWP"), npwp_text(supplier.npwp)),
        (_("Order date"), fmt.date(order.order_date)),
        (_("Delivery date"), fmt.date(order.expected_date) if order.expected_date else _("as agreed")),
        (_("Deliver to"), f"{company.name}, {company.address}" if company.address else company.name),
    ])
    rows = []
    for line in order.lines:
        variant = variants.get(line.variant_id)
        product = f"{variant.sku} {variant.name}" if variant else str(line.variant_id)
        rows.append((line.line_no, product, fmt.qty(line.quantity), line.unit, fmt.rupiah(line.unit_price),
                     line.tax_code, fmt.rupiah(line.base_amount)))
    # "#" and "DPP", not "No" (the yes/no word) and "Amount" (Jumlah, the same word as the quantity's).
    doc.table(["#", _("Product"), _("Quantity"), _("Unit"), _("Price"), _("Tax"), _("DPP")], rows, WIDTHS,
              ["C", "L", "R", "C", "R", "C", "R"])
    doc.totals([(_("DPP"), fmt.rupiah(order.subtotal)), (_("PPN"), fmt.rupiah(order.tax_amount)),
                (_("Total"), fmt.rupiah(order.total))])
    if order.prices_include_tax:
        doc.paragraph(_("Prices include PPN."), italic=True)
    terms = [_("Payment: %(n)s days after the supplier's invoice.", n=supplier.payment_terms_days)
             if supplier.payment_terms_days else _("Payment: on delivery."),
             _("Please quote the PO number on the delivery note (surat jalan) and on the invoice and faktur pajak."),
             _("Goods are received subject to inspection; goods that fail it are returned.")]
    if order.note:
        terms.append(order.note)
    doc.paragraph(_("Terms"), bold=True)
    for n, term in enumerate(terms, 1):
        doc.paragraph(f"{n}. {term}")
    doc.signatures([_("Prepared by"), _("Approved by"), _("Supplier")])
    return doc
