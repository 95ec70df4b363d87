"""Reports of the payments module (they never write): the customer statement and the PPh 23 register."""

from __future__ import annotations

import calendar
import re
import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.partners import service as partners
from polyflow.erp.payments import repository
from polyflow.erp.payments.schemas import Pph23Register, Pph23Row, Statement, StatementLine
from polyflow.kit.errors import InvalidInput
from polyflow.kit.money import ZERO

# Same-day order on a statement: what raises the balance first, then what lowers it.
_ORDER = {"invoice": 0, "credit_note": 1, "receipt": 2, "receipt_cancelled": 3}


async def customer_statement(session: AsyncSession, partner_id: uuid.UUID, date_from: date | None,
                             date_to: date | None) -> Statement:
    """Opening balance on `date_from`, the invoices, credit notes and receipts (and receipt cancellations)
    dated in the range, and the closing balance. Receipts count at what they settled (allocated, so PPh 23
    withheld and bank charges included). Defaults: the month of `date_to`, `date_to` today."""
    date_to = date_to or await accounting.local_today(session)
    date_from = date_from or date_to.replace(day=1)
    accounting.check_range(date_from, date_to)
    partner = await partners.get_partner(session, partner_id)
    events: list[tuple[date, str, str, str | None, Decimal, Decimal]] = []
    for on, kind, number, total in await repository.sales_documents(session, partner_id, date_to):
        if kind == "credit_note":
            events.append((on, kind, number, None, ZERO, total))
        else:
            events.append((on, "invoice", number, None, total, ZERO))
    for p in await repository.receipts_until(session, partner_id, date_to):
        invoices = ", ".join(a.invoice_number for a in p.allocations)
        events.append((p.payment_date, "receipt", p.number, invoices, ZERO, p.allocated))
        if p.status == "cancelled" and p.cancel_date <= date_to:
            events.append((p.cancel_date, "receipt_cancelled", p.number, invoices, p.allocated, ZERO))
    events.sort(key=lambda e: (e[0], _ORDER[e[1]], e[2]))
    opening = sum((d - c for on, _, _, _, d, c in events if on < date_from), ZERO)
    balance, lines, total_d, total_c = opening, [], ZERO, ZERO
    for on, kind, number, ref, debit, credit in events:
        if on < date_from:
            continue
        balance += debit - credit
        total_d += debit
        total_c += credit
        lines.append(StatementLine(entry_date=on, kind=kind, number=number, reference=ref, debit=debit, credit=credit,
                                   balance=balance))
    return Statement(partner_id=partner.id, partner_code=partner.code, partner_name=partner.name, date_from=date_from,
                     date_to=date_to, opening_balance=opening, lines=lines, total_debit=total_d, total_credit=total_c,
                     closing_balance=balance)


def month_range(month: str) -> tuple[date, date]:
    """'2026-11' -> (1 Nov, 30 Nov); 422 for anything else."""
    found = re.fullmatch(r"(\d{4})-(\d{2})", month or "")
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1900:
        raise InvalidInput("month must be YYYY-MM, e.g. 2026-11")
    year, mon = int(found[1]), int(found[2])
    start = date(year, mon, 1)
    return start, start + timedelta(days=calendar.monthrange(year, mon)[1] - 1)


async def pph23_register(session: AsyncSession, month: str) -> Pph23Register:
    """PPh 23 withholding slips dated in the month: withheld by customers on our receipts (1171) and by us
    on supplier payments (2140), each with its slip number, partner NPWP and the invoices it covers."""
    start, end = month_range(month)
    by_customers, by_us = [], []
    for p, partner in await repository.withheld_in(session, start, end):
        row = Pph23Row(payment_id=p.id, payment_number=p.number, payment_date=p.payment_date, partner_id=partner.id,
                       partner_code=partner.code, partner_name=partner.name, partner_npwp=partner.npwp,
                       withholding_slip_no=p.withholding_slip_no, withholding_date=p.withholding_date,
                       invoices=[a.invoice_number for a in p.allocations], amount=p.withheld)
        (by_customers if p.direction == "in" else by_us).append(row)
    return Pph23Register(month=f"{start:%Y-%m}", withheld_by_customers=by_customers, withheld_by_us=by_us,
                         total_withheld_by_customers=sum((r.amount for r in by_customers), ZERO),
                         total_withheld_by_us=sum((r.amount for r in by_us), ZERO))
