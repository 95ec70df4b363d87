"""The Coretax e-Faktur bulk import XML (PPN Keluaran) of a month's posted sales invoices.

Template followed: DJP's "Template XML Faktur Pajak Keluaran" for Coretax, the 2025 version (the file Coretax
serves under e-Faktur > Pajak Keluaran > Impor Data > "Unduh Format Data"; its schema TaxInvoice.xsd).
No copy of the DJP file itself could be consulted here: the element names, their order and the code lists
(buyer ID types, unit codes, transaction codes) were taken from public integrations that reproduce that
template (its sample file and its reference sheets), where they agree with each other:

  TaxInvoiceBulk (xmlns:xsd, xmlns:xsi) / TIN / ListOfTaxInvoice / TaxInvoice:
    TaxInvoiceDate, TaxInvoiceOpt (Normal), TrxCode, AddInfo, CustomDoc, RefDesc, FacilityStamp, SellerIDTKU,
    BuyerTin, BuyerDocument, BuyerCountry, BuyerDocumentNumber, BuyerName, BuyerAdress (sic), BuyerEmail,
    BuyerIDTKU, ListOfGoodService / GoodService:
      Opt, Code, Name, Unit, Price, Qty, TotalDiscount, TaxBase, OtherTaxBase, VATRate, VAT, STLGRate, STLG

Rules applied:
- Buyer identity (as snapshot on the invoice when it was posted): an NPWP -> BuyerTin = NPWP, BuyerDocument
  TIN, BuyerDocumentNumber "-", BuyerIDTKU = the buyer's NITKU (its NPWP + 000000 when none is recorded).
  A NIK -> BuyerTin 0000000000000000, BuyerDocument "National ID", BuyerDocumentNumber = the NIK and
  BuyerIDTKU = NIK + 000000 (the partners module's NITKU of an individual). UNCERTAIN: some guides to the
  template say "000000" for buyers without an NPWP; that is used only when no NITKU was recorded.
  A buyer with neither, or without an address, is refused (422 listing the invoices): Coretax rejects such
  a tax invoice, and Polyflow records no passport or other document number yet.
- Code (HS / service code) is 000000 on every line: Polyflow records no HS code for a product yet.
- TrxCode is the code the sales module snapshot when posting (04 = DPP nilai lain 11/12; 01 full price).
  Codes 07 / 08 need a facility code (AddInfo / FacilityStamp, TD.005xx / TD.011xx) that Polyflow does
  not record: such invoices are refused too.
- Lines: Price = the unit price, Qty, TotalDiscount = the line's discount, TaxBase = its DPP, OtherTaxBase =
  its DPP nilai lain, VAT = its PPN (the document figures allocated to the lines by the sales module:
  calc.py's rounding rule), VATRate = the rate (12), STLG (PPnBM) 0. With tax-inclusive prices the Price
  is the DPP per unit (TaxBase / Qty, to the cent) and TotalDiscount 0, so Price x Qty may miss TaxBase by
  the cents of that division (UNCERTAIN whether Coretax tolerates it; TaxBase and VAT are exact).
- An invoice that deducts down payments (faktur pelunasan) reports its DPP, DPP nilai lain and PPN less
  the down payments' (ppn.net_figures), the deducted DPP added to the lines' TotalDiscount (shares by
  largest remainder), so that Price x Qty - TotalDiscount = TaxBase still holds. A down-payment invoice
  (no goods lines) is one line "Uang muka ..." of quantity 1. Whether Coretax wants a down payment flagged
  in the XML (its form has a "Uang Muka" option) could not be confirmed: UNCERTAIN.
- Credit notes (sales returns) are not in this file: Coretax records a return as a separate "Retur Pajak
  Keluaran" document against the original tax invoice; the PPN summary counts them.
- Unit codes: see UNIT_CODES (below) for the source and the uncertain ones.

Amounts are written without exponent and without trailing zeros ("1380000", "2300.5"), as in the template's
sample; dates as YYYY-MM-DD.
"""

from __future__ import annotations

from decimal import Decimal
from xml.etree import ElementTree as ET

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.partners import service as partners
from polyflow.erp.sales import service as sales
from polyflow.erp.tax import service as tax
from polyflow.erp.tax.calc import allocate
from polyflow.kit.tax_ids import HEAD_OFFICE
from polyflow.erp.tax.ppn import net_figures, parse_month
from polyflow.kit.errors import InvalidInput

NO_TIN = "0000000000000000"
NO_IDTKU = "000000"
COUNTRY = "IDN"
CENT = Decimal("0.01")

# Polyflow unit -> Coretax unit code ("Satuan Ukur" reference list of the DJP template, UM.0001-UM.0033).
# Source: the template's unit sheet as reproduced by public e-Faktur integrations (two independent copies
# agree: UM.0003 Kilogram, UM.0004 Gram, UM.0007 Liter, UM.0012 Meter Persegi, UM.0013 Meter, UM.0020
# Lembar, UM.0021 Piece, UM.0022 Boks, UM.0033 Lainnya/Other). Certain: KG, G, TON (UM.0001 Metrik Ton), M /
# METER, M2, L, PCS, LBR. UNCERTAIN: the list has no roll, bale or sack, so ROLL, BAL and ZAK are "Lainnya"
# (UM.0033), and KARTON is taken as UM.0022 Boks (a carton box). Any other unit is UM.0033 too.
UNIT_CODES = {
    "TON": "UM.0001", "KG": "UM.0003", "G": "UM.0004", "GRAM": "UM.0004", "L": "UM.0007", "LITER": "UM.0007",
    "M2": "UM.0012", "M": "UM.0013", "METER": "UM.0013", "LUSIN": "UM.0017", "UNIT": "UM.0018", "SET": "UM.0019",
    "LBR": "UM.0020", "LEMBAR": "UM.0020", "PCS": "UM.0021", "KARTON": "UM.0022", "BOX": "UM.0022",
    "ROLL": "UM.0033", "BAL": "UM.0033", "ZAK": "UM.0033",
}
OTHER_UNIT = "UM.0033"
# The buyer document kinds the sales module snapshots -> the template's "Jenis ID Pembeli" values.
BUYER_DOCUMENTS = {"TIN": "TIN", "NIK": "National ID", "Passport": "Passport", "Other": "Other ID"}
NEEDS_FACILITY = {"07", "08"}


def unit_code(unit: str) -> str:
    """The Coretax unit code of a Polyflow unit (UM.0033 'Lainnya' when the list has none)."""
    return UNIT_CODES.get((unit or "").strip().upper(), OTHER_UNIT)


def _num(value: Decimal) -> str:
    """A figure as the template writes it: plain notation, no trailing zeros."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{value.quantize(Decimal(1)):f}"
    return f"{value.normalize():f}"


def _problems(company, invoices) -> list[str]:
    out = []
    if not company.is_pkp:
        out.append("the company is not a PKP (VAT-registered): set is_pkp, NPWP and NITKU in /api/v1/tax/company")
    if not company.npwp:
        out.append("the company has no NPWP (the seller TIN): set it in /api/v1/tax/company")
    if not company.nitku:
        out.append("the company has no NITKU (SellerIDTKU): set it in /api/v1/tax/company")
    for inv in invoices:
        reasons = []
        if not inv.buyer_tin or inv.buyer_document not in ("TIN", "NIK"):
            reasons.append("the buyer has neither an NPWP nor a NIK")
        if not (inv.buyer_address or "").strip():
            reasons.append("the buyer has no address")
        if inv.trx_code in NEEDS_FACILITY:
            reasons.append(f"transaction code {inv.trx_code} needs a facility code (AddInfo/FacilityStamp) "
                           "that Polyflow does not record")
        if reasons:
            out.append(f"{inv.number} ({inv.buyer_name}): {'; '.join(reasons)}")
    return out


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text:
        element.text = text  # ElementTree escapes &, <, > (and quotes in attributes) when writing
    return element


def _buyer(inv) -> tuple[str, str, str, str]:
    """(BuyerTin, BuyerDocument, BuyerDocumentNumber, BuyerIDTKU)."""
    if inv.buyer_document == "TIN":
        return inv.buyer_tin, "TIN", "-", inv.buyer_idtku or inv.buyer_tin + HEAD_OFFICE
    return NO_TIN, BUYER_DOCUMENTS[inv.buyer_document], inv.buyer_tin, inv.buyer_idtku or NO_IDTKU


def _line(goods: ET.Element, *, opt: str, code: str, name: str, unit: str, price: Decimal, qty: Decimal,
          discount: Decimal, base: Decimal, other_base: Decimal, rate: Decimal, vat: Decimal) -> None:
    g = _sub(goods, "GoodService")
    for tag, text in (("Opt", opt), ("Code", code), ("Name", name), ("Unit", unit), ("Price", _num(price)),
                      ("Qty", _num(qty)), ("TotalDiscount", _num(discount)), ("TaxBase", _num(base)),
                      ("OtherTaxBase", _num(other_base)), ("VATRate", _num(rate)), ("VAT", _num(vat)),
                      ("STLGRate", "0"), ("STLG", "0")):
        _sub(g, tag, text)


def _goods(inv, goods: ET.Element) -> None:
    f = net_figures(inv)
    if not inv.lines:  # a down-payment invoice
        rate = (inv.tax * 100 / inv.other_base).quantize(Decimal(1)) if inv.other_base else Decimal(0)
        _line(goods, opt="A", code="000000", name=inv.note or "Uang muka", unit=OTHER_UNIT, price=f.base,
              qty=Decimal(1), discount=Decimal(0), base=f.base, other_base=f.other_base, rate=rate, vat=f.tax)
        return
    weights = [line.base for line in inv.lines]
    less_base = allocate(inv.base - f.base, weights)
    less_other = allocate(inv.other_base - f.other_base, weights)
    less_tax = allocate(inv.tax - f.tax, weights)
    for line, lb, lo, lt in zip(inv.lines, less_base, less_other, less_tax):
        base = line.base - lb
        if inv.prices_include_tax:
            price, discount = (line.base / line.quantity).quantize(CENT), lb
        else:
            price, discount = line.unit_price, line.discount + lb
        _line(goods, opt=line.goods_or_services, code="000000", name=line.description, unit=unit_code(line.unit_code),
              price=price, qty=line.quantity, discount=discount, base=base, other_base=line.other_base - lo,
              rate=line.tax_rate, vat=line.tax - lt)


async def coretax_xml(session: AsyncSession, month: str) -> tuple[str, bytes]:
    """(file name, XML) of the month's posted sales invoices for Coretax's bulk import; 422 listing what
    Coretax would reject (the company's or a buyer's missing identity) instead of a file it refuses."""
    label, first, last = parse_month(month)
    company = await tax.get_company(session)
    invoices = [d for d in await sales.tax_documents(session, first, last) if d.kind == "invoice"]
    problems = _problems(company, invoices)
    if problems:
        raise InvalidInput("Coretax would reject this file: " + " | ".join(problems))
    if not invoices:
        raise InvalidInput(f"no posted sales invoices dated in {label}: nothing to import")
    emails = {}
    for customer_id in {inv.customer_id for inv in invoices}:
        emails[customer_id] = (await partners.get_partner(session, customer_id)).email
    root = ET.Element("TaxInvoiceBulk", {"xmlns:xsd": "http://www.w3.org/2001/XMLSchema",
                                         "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance"})
    _sub(root, "TIN", company.npwp)
    listing = _sub(root, "ListOfTaxInvoice")
    for inv in invoices:
        buyer_tin, document, document_number, idtku = _buyer(inv)
        ti = _sub(listing, "TaxInvoice")
        for tag, text in (("TaxInvoiceDate", inv.invoice_date.isoformat()), ("TaxInvoiceOpt", "Normal"),
                          ("TrxCode", inv.trx_code), ("AddInfo", None), ("CustomDoc", None), ("RefDesc", inv.number),
                          ("FacilityStamp", None), ("SellerIDTKU", company.nitku), ("BuyerTin", buyer_tin),
                          ("BuyerDocument", document), ("BuyerCountry", COUNTRY),
                          ("BuyerDocumentNumber", document_number), ("BuyerName", inv.buyer_name),
                          ("BuyerAdress", " ".join(inv.buyer_address.split())),  # one line, as Coretax shows it
                          ("BuyerEmail", emails.get(inv.customer_id)), ("BuyerIDTKU", idtku)):
            _sub(ti, tag, text)
        _goods(inv, _sub(ti, "ListOfGoodService"))
    ET.indent(root)
    return f"coretax-efaktur-{label}.xml", ET.tostring(root, encoding="utf-8", xml_declaration=True)
