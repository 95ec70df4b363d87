"""The kwitansi (receipt) of a customer payment on paper, on `polyflow.web.pdf.Document`: received from, the
amount in words (Bahasa Indonesia), what it pays, the amount, the PPh 23 withheld, a signature."""

from __future__ import annotations

from polyflow.erp.sales.documents import letterhead  # noqa: F401  (one letterhead for every document)
from polyflow.kit.terbilang import terbilang
from polyflow.web import fmt
from polyflow.web.i18n import _
from polyflow.web.pdf import Company, Document


def kwitansi(company: Company, payment, partner) -> Document:
    """The receipt slip: "Sudah terima dari", "Uang sejumlah" in words, "Untuk pembayaran", the amount."""
    doc = Document(_("RECEIPT"), company, number=payment.number)
    invoices = ", ".join(a.invoice_number for a in payment.allocations)
    purpose = _("Payment of invoice %(numbers)s", numbers=invoices)
    if payment.reference:
        purpose += f" ({payment.reference})"
    pairs = [
        (_("Received from"), partner.name if partner is not None else ""),
        (_("The sum of"), terbilang(payment.amount)),
        (_("For payment of"), purpose),
        (_("Paid into"), payment.account_code),
    ]
    if payment.withheld:
        slip = _("withholding slip %(number)s", number=payment.withholding_slip_no or "-")
        pairs.append((_("PPh 23 withheld"), f"{fmt.rupiah(payment.withheld)} ({slip})"))
    if payment.bank_charges:
        pairs.append((_("Bank charges"), fmt.rupiah(payment.bank_charges)))
    if payment.status == "cancelled":
        pairs.append((_("Status"), _("CANCELLED on %(day)s", day=fmt.date(payment.cancel_date))))
    doc.kv(pairs, label_width=45)
    doc.set_font("Helvetica", "B", 14)
    doc.cell(0, 10, fmt.rupiah(payment.amount), border=1, align="C", new_x="LMARGIN", new_y="NEXT")
    doc.ln(2)
    doc.signatures([_("Received by")], place_date=fmt.date(payment.payment_date))
    return doc
