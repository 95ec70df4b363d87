"""Seed one demo plant through the ERP's own services, in the caller's transaction.

Every stock movement goes through inventory's `create_movement` and every journal through the document
services (which call accounting's `post_journal`): the demo books are what a user would get by doing the
same work through the API. Events are replayed in date order, so each stock check, reservation and
credit-limit check sees the plant as it was on that day."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.schemas import JournalIn, LineIn
from polyflow.erp.catalog import service as catalog
from polyflow.erp.catalog.schemas import ProductIn
from polyflow.erp.demo import repository
from polyflow.erp.demo.data import HISTORY_DAYS, PLANTS, Plant
from polyflow.erp.demo.production import FilmSeeding, FloorSeeding
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn
from polyflow.erp.partners import service as partners
from polyflow.erp.production import reports as floor_reports
from polyflow.erp.partners.schemas import PartnerIn
from polyflow.erp.payments import service as payments
from polyflow.erp.payments.schemas import AllocationIn, PaymentIn
from polyflow.erp.purchasing import service as purchasing
from polyflow.erp.purchasing.schemas import (
    InvoiceIn as PurchaseInvoiceIn, InvoiceLineIn as PurchaseInvoiceLineIn, OrderIn, OrderLineIn, ReceiptIn,
    ReceiptLineIn,
)
from polyflow.erp.sales import service as sales
from polyflow.erp.sales.schemas import (
    DeliveryIn, DeliveryLineIn, InvoiceIn, InvoiceLineIn, PricedLineIn, ReturnIn, ReturnLineIn, SalesOrderIn,
)
from polyflow.erp.tax import service as tax
from polyflow.erp.tax.schemas import CompanyTaxIn
from polyflow.kit.money import rupiah

# Within one day: orders, then goods in, then production, then deliveries, invoices and money.
ORDER_IN_DAY = {"po": 0, "grn": 1, "pinv": 2, "campaign": 3, "film": 3, "regrind": 3, "toll": 4, "so": 4, "do": 5,
                "inv": 6, "ret": 7, "rcv": 8, "pay": 8, "jv": 8, "piecepay": 9, "opname": 9}
BY_PLANT = {plant.subdomain: plant for plant in PLANTS}


def _whole(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal(1), rounding=ROUND_DOWN)


class _Run(FloorSeeding, FilmSeeding):
    """One plant's seeding: the ids of what it created, by the keys of erp/demo/data.py."""

    def __init__(self, session: AsyncSession, plant: Plant, start: date):
        self.session, self.plant, self.start = session, plant, start
        self.variants: dict[str, uuid.UUID] = {}
        self.partners: dict[str, uuid.UUID] = {}
        self.docs: dict[str, object] = {}  # purchase / sales orders by key
        self.deliveries: dict[str, list] = {}  # posted deliveries by their order's key
        self.invoices: dict[str, uuid.UUID] = {}
        self.faktur = 0

    def day(self, n: int) -> date:
        return self.start + timedelta(days=n)

    def _line(self, order, sku: str):
        return next(line for line in order.lines if line.variant_id == self.variants[sku])

    async def setup(self) -> None:
        p = self.plant
        await tax.update_company(self.session, CompanyTaxIn(
            legal_name=p.name, npwp=p.npwp, is_pkp=True, pkp_since=date(2015, 7, 1), address=p.address,
            tax_office=p.tax_office))
        for sku, name, ptype, unit, buy, sell, min_stock, extra in p.products:
            product = await catalog.create_product(self.session, ProductIn(
                sku=sku, name=name, product_type=ptype, unit=unit, buy_price=Decimal(buy) if buy else None,
                sell_price=Decimal(sell) if sell else None, min_stock=Decimal(min_stock), **extra))
            self.variants[sku] = product.variants[0].id
        for partner in p.partners:
            created = await partners.create_partner(self.session, PartnerIn(
                code=partner.code, name=partner.name, is_customer=partner.role == "customer",
                is_supplier=partner.role == "supplier", entity_type="company" if partner.npwp else "individual",
                npwp=partner.npwp, nik=partner.nik, is_pkp=partner.npwp is not None,
                address=f"{partner.street}, {partner.city}", city=partner.city,
                payment_terms_days=partner.terms,
                credit_limit=Decimal(partner.credit_limit) if partner.credit_limit else None))
            self.partners[partner.code] = created.id
        for sku, qty, location, cost in p.opening:
            await self.move("IN", sku, qty, None, location, cost, "opening", "Saldo awal", self.day(0))
        if p.floor == "woven":
            await self.floor_setup()
        elif p.floor == "film":
            await self.film_setup()

    async def move(self, kind, sku, qty, src, dst, cost, reason, reference, on) -> None:
        await inventory.create_movement(self.session, MovementIn(
            kind=kind, sku=sku, quantity=Decimal(qty), from_location=src, to_location=dst,
            unit_cost=Decimal(cost) if cost else None, reason=reason, reference=reference, posting_date=on))

    def schedule(self) -> list[tuple]:
        """Every event of the history as (day, order in day, n, action, args), in the order to replay them."""
        p, out = self.plant, []
        for n, (day, action, *args) in enumerate([*p.events, *p.journals]):
            out.append((day, ORDER_IN_DAY[action], n, action, args))
        return sorted(out, key=lambda e: e[:3])

    async def replay(self) -> None:
        for day, _, _, action, args in self.schedule():
            await getattr(self, f"_{action}")(self.day(day), day, *args)

    # -- money outside documents -------------------------------------------------------------------------
    async def _jv(self, on: date, day: int, description: str, debit: str, credit: str, amount: str) -> None:
        # What no document carries (the bank's opening balance, wages, the electricity bill): a manual
        # journal through accounting's service, as the accountant would enter it.
        await accounting.create_manual_journal(self.session, JournalIn(
            entry_date=on, description=description, lines=[LineIn(account=debit, debit=Decimal(amount)),
                                                            LineIn(account=credit, credit=Decimal(amount))]))

    async def _piecepay(self, on: date, day: int, since: int) -> None:
        # The week's piece-rate wages (earned on the floor, owed on 2170) paid from the bank: the amount is
        # what the KPI service's earnings report gives for the week.
        earned = (await floor_reports.piece_rate_earnings(self.session, self.day(since), on)).total_earnings
        if earned > 0:
            await self._jv(on, day, f"Upah borongan {self.day(since):%d/%m}-{on:%d/%m}", "2170", "1102", earned)

    # -- purchasing ------------------------------------------------------------------------------------------
    async def _po(self, on: date, day: int, key: str, supplier: str, lines: list) -> None:
        order = await purchasing.create_order(self.session, OrderIn(
            partner_id=self.partners[supplier], order_date=on, expected_date=on + timedelta(days=2),
            lines=[OrderLineIn(variant_id=self.variants[sku], quantity=Decimal(qty), unit_price=Decimal(price))
                   for sku, qty, price in lines]), None)
        self.docs[key] = await purchasing.approve_order(self.session, order.id, None)

    async def _grn(self, on: date, day: int, key: str, location: str, lines: list) -> None:
        order = self.docs[key]
        await purchasing.create_receipt(self.session, ReceiptIn(
            order_id=order.id, location=location, receipt_date=on, delivery_note=f"SJ-{key}-{day:02d}",
            lines=[ReceiptLineIn(order_line_id=self._line(order, sku).id, quantity=Decimal(qty),
                                 lot_number=f"L{on:%y%m%d}-{n}") for n, (sku, qty) in enumerate(lines, 1)]), None)

    async def _pinv(self, on: date, day: int, key: str, order_key: str, lines: list) -> None:
        order = self.docs[order_key]
        self.faktur += 1
        # A Coretax faktur number has 17 digits; made up here, unique per plant.
        faktur = f"04002{on:%y}{self.plant.npwp[:4]}{self.faktur:06d}"
        invoice = await purchasing.create_invoice(self.session, PurchaseInvoiceIn(
            order_id=order.id, invoice_date=on, supplier_invoice_no=f"INV/{on:%y%m}/{self.faktur:04d}",
            tax_invoice_no=faktur,
            lines=[PurchaseInvoiceLineIn(order_line_id=self._line(order, sku).id, quantity=Decimal(qty),
                                         unit_price=Decimal(price) if price else None) for sku, qty, price in lines]),
            None)
        invoice = await purchasing.post_invoice(self.session, invoice.id, None)
        self.invoices[key] = invoice.id

    async def _pay(self, on: date, day: int, supplier: str, shares: list, charges: str) -> None:
        allocations = []
        for key, share in shares:
            item = await purchasing.open_item(self.session, self.invoices[key], lock=False)
            allocations.append(AllocationIn(invoice_id=item.id, amount=_whole(item.open_amount * Decimal(share))))
        charges = Decimal(charges)
        # A supplier payment: the bank pays the allocations plus its charge.
        amount = sum((a.amount for a in allocations), Decimal(0)) + charges
        await payments.create_payment(self.session, payments.SUPPLIER_PAYMENT, PaymentIn(
            partner_id=self.partners[supplier], payment_date=on, account="1102", amount=amount,
            bank_charges=charges, reference=f"TRF {on:%d%m}-{supplier}", allocations=allocations))

    # -- sales -----------------------------------------------------------------------------------------------
    async def _so(self, on: date, day: int, key: str, customer: str, location: str, lines: list) -> None:
        order = await sales.create_order(self.session, SalesOrderIn(
            customer_id=self.partners[customer], order_date=on, location=location,
            customer_reference=f"PO-{customer[4:]}-{day:02d}",
            lines=[PricedLineIn(variant_id=self.variants[sku], quantity=Decimal(qty), unit_price=Decimal(price))
                   for sku, qty, price in lines]), None)
        self.docs[key] = await sales.confirm_order(self.session, order.id, None)

    async def _do(self, on: date, day: int, key: str, lines: list) -> None:
        order = self.docs[key]
        delivery = await sales.create_delivery(self.session, DeliveryIn(
            order_id=order.id, delivery_date=on, vehicle=f"B {9000 + day} DMO",
            lines=[DeliveryLineIn(order_line_id=self._line(order, sku).id, quantity=Decimal(qty))
                   for sku, qty in lines]), None)
        self.deliveries.setdefault(key, []).append(await sales.post_delivery(self.session, delivery.id, None))

    async def _inv(self, on: date, day: int, key: str, order_key: str, opt: str = "A") -> None:
        order = self.docs[order_key]
        lines = None  # goods: every delivered, not yet invoiced quantity
        if opt == "B":  # services: the same quantities, marked B (Coretax Opt) line by line
            lines = [InvoiceLineIn(order_line_id=ln.id, quantity=ln.qty_delivered - ln.qty_invoiced,
                                   goods_or_services="B") for ln in order.lines if ln.qty_delivered > ln.qty_invoiced]
        invoice = await sales.create_invoice(self.session, InvoiceIn(order_id=order.id, invoice_date=on,
                                                                     lines=lines), None)
        invoice = await sales.post_invoice(self.session, invoice.id, None)
        self.invoices[key] = invoice.id

    async def _ret(self, on: date, day: int, invoice_key: str, order_key: str, location: str, lines: list,
                   reason: str) -> None:
        # Goods of the order's latest delivery come back; the credit note is applied to the invoice at once.
        delivery = self.deliveries[order_key][-1]
        ret = await sales.create_return(self.session, ReturnIn(
            invoice_id=self.invoices[invoice_key], return_date=on, location=location, reason=reason,
            lines=[ReturnLineIn(delivery_line_id=next(dl.id for dl in delivery.lines
                                                      if dl.variant_id == self.variants[sku]),
                                quantity=Decimal(qty)) for sku, qty in lines]), None)
        await sales.post_return(self.session, ret.id, None)

    async def _rcv(self, on: date, day: int, customer: str, shares: list, account: str, charges: str,
                   slip: str | None = None) -> None:
        allocations, withheld = [], Decimal(0)
        for key, share in shares:
            item = await sales.open_item(self.session, self.invoices[key], lock=False)
            allocations.append(AllocationIn(invoice_id=item.id, amount=_whole(item.open_amount * Decimal(share))))
            if slip:  # the customer withholds PPh 23 at the tax code's rate on the invoice's DPP
                rate = (await tax.in_effect(self.session, "PPH23", on)).rate
                withheld += rupiah((await sales.get_invoice(self.session, item.id)).base * rate / 100)
        charges = Decimal(charges)
        # The bank credits what the customer sent less its charge; the withheld tax comes as a slip.
        amount = sum((a.amount for a in allocations), Decimal(0)) - charges - withheld
        await payments.create_payment(self.session, payments.RECEIPT, PaymentIn(
            partner_id=self.partners[customer], payment_date=on, account=account, amount=amount,
            bank_charges=charges, withheld=withheld, withholding_slip_no=slip,
            reference=f"{'KAS' if account == '1101' else 'TRF'} {on:%d%m}-{customer}", allocations=allocations))


async def seed_tenant(session: AsyncSession, subdomain: str) -> int:
    """Seed a demo plant's products, partners, tax identity and three weeks of trade (ending today in the
    company's time zone) in the caller's transaction. Returns the number of products created, or 0 when the
    tenant already has products (seeding twice adds nothing) or is not a demo plant."""
    plant = BY_PLANT.get(subdomain)
    if plant is None or await repository.has_products(session):
        return 0
    today = await accounting.local_today(session)
    run = _Run(session, plant, today - timedelta(days=HISTORY_DAYS))
    await run.setup()
    await run.replay()
    return len(plant.products)
