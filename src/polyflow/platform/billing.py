"""Billing (main database): monthly invoices, payments, suspension for non-payment.

Rules (kept simple on purpose; README "Billing" repeats them):

- **Period.** `run(platform, today)` invoices the *previous calendar month* (in arrears), e.g. any run
  in April 2026 invoices 2026-03-01..2026-03-31. Dates are UTC. A run never catches up older months.
- **Who.** Tenants `active` or `suspended` (not provisioning/failed/archived/deleted), not on a trial
  plan (`trial_days > 0`), and out of trial and activated for the *whole* month: `activated_at` and
  `trial_ends_at` both before the period starts. The first, partial paid month is therefore free;
  there is no proration.
- **Amount.** The plan the tenant is on at run time: one line at `plans.monthly_price`. Module grants
  beyond the plan that were in force during the month are recorded as usage lines priced 0 (grants
  carry no price yet). Active users are not known in the main database and are not billed. A total of 0
  issues nothing.
- **Idempotent.** At most one invoice per tenant and period (`uq_invoices_tenant_period`, checked under
  the numbering lock): running again, or concurrently, issues nothing twice.
- **Numbers.** `INV/<year of issue>/<5 digits>`, gap-free per year: the next number is taken under a
  transaction-scoped advisory lock in the same transaction that inserts the invoice, so a rollback
  leaves no hole and concurrent runs (any process) are serialised for that instant only.
- **Due.** issue date + `INVOICE_DUE_DAYS`; unpaid after due date + `BILLING_GRACE_DAYS` ->
  `suspend_overdue` suspends the tenant (reason ``overdue invoice INV/...``); `mark_paid` resumes a
  tenant suspended for non-payment once nothing else is overdue. Operator suspensions are never lifted.
- **Payment hook.** After an invoice is committed, the configured `PaymentProvider` is told (where a
  gateway would create a payment link). The default does nothing; nothing here uses the network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import selectinload

from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.platform.models import INVOICE_STATUSES, Invoice, Plan, PlatformEvent, Tenant, TenantModule

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform

log = logging.getLogger(__name__)

BILLED_STATUSES = ("active", "suspended")
# status_reason of a tenant suspended by `suspend_overdue`; `mark_paid` only lifts suspensions it made.
OVERDUE_REASON = "overdue invoice "
LIST_STATUSES = (*INVOICE_STATUSES, "overdue")
CENT = Decimal("0.01")
# One lock for invoice numbering (any process, any year): held from "next number" to commit.
_NUMBER_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('polyflow.invoice-numbers'))")
_LAST_NUMBER = text("SELECT coalesce(max(split_part(number, '/', 3)::int), 0) FROM invoices WHERE number LIKE :prefix")


# -- read model -------------------------------------------------------------------------------------
@dataclass
class InvoiceView:
    number: str
    tenant: str
    period_start: date
    period_end: date
    plan: str
    amount: Decimal
    status: str
    issued_at: datetime
    due_date: date
    paid_at: datetime | None = None
    payment_reference: str | None = None
    lines: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, inv: Invoice, subdomain: str) -> "InvoiceView":
        return cls(inv.number, subdomain, inv.period_start, inv.period_end, inv.plan, inv.amount, inv.status,
                   inv.issued_at, inv.due_date, inv.paid_at, inv.payment_reference, list(inv.lines or ()))

    def as_json(self) -> dict:
        return {
            "number": self.number, "tenant": self.tenant, "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(), "plan": self.plan, "amount": str(self.amount),
            "status": self.status, "issued_at": self.issued_at.isoformat(), "due_date": self.due_date.isoformat(),
            "paid_at": self.paid_at.isoformat() if self.paid_at else None,
            "payment_reference": self.payment_reference, "lines": self.lines,
        }


# -- payment hook -------------------------------------------------------------------------------------
@runtime_checkable
class PaymentProvider(Protocol):
    """Where a payment gateway plugs in. Called once per invoice, after it is committed."""

    name: str

    async def invoice_issued(self, invoice: InvoiceView) -> str | None:
        """Ask for payment (e.g. create a payment link); return a reference/URL to record, or None.
        An exception is logged and recorded as a platform event; the invoice stays issued."""
        ...


class NoPaymentProvider:
    """The default: invoices are paid by transfer and recorded with `billing mark-paid`."""

    name = "none"

    async def invoice_issued(self, invoice: InvoiceView) -> str | None:
        return None


PAYMENT_PROVIDERS: dict[str, PaymentProvider] = {"none": NoPaymentProvider()}


def register_payment_provider(provider: PaymentProvider) -> None:
    """Make a provider selectable by name (a gateway integration calls this at import time)."""
    PAYMENT_PROVIDERS[provider.name] = provider


def payment_provider(name: str | None = None) -> PaymentProvider:
    name = name or "none"
    try:
        return PAYMENT_PROVIDERS[name]
    except KeyError:
        raise InvalidInput(f"unknown payment provider '{name}'") from None


# -- periods ------------------------------------------------------------------------------------------
def billing_period(today: date) -> tuple[date, date]:
    """The calendar month before `today`: (first day, last day)."""
    first_this = today.replace(day=1)
    last_prev = first_this - timedelta(days=1)
    return last_prev.replace(day=1), last_prev


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


# -- run ------------------------------------------------------------------------------------------------
@dataclass
class RunResult:
    period_start: date
    period_end: date
    issued: list[InvoiceView] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (subdomain, why)

    def as_json(self) -> dict:
        return {"period_start": self.period_start.isoformat(), "period_end": self.period_end.isoformat(),
                "issued": [i.as_json() for i in self.issued],
                "skipped": [{"tenant": s, "reason": r} for s, r in self.skipped]}


def _why_not_billed(tenant: Tenant, plan: Plan, period_start: date) -> str | None:
    start = _midnight(period_start)
    if tenant.status not in BILLED_STATUSES:
        return f"status {tenant.status}"
    if plan.trial_days > 0:
        return "on a trial plan"
    if (tenant.activated_at or tenant.created_at) >= start:
        return "activated during or after the period"
    if tenant.trial_ends_at is not None and tenant.trial_ends_at > start:
        return "in trial during the period"
    return None


async def _lines(session: AsyncSession, tenant: Tenant, plan: Plan, period_start: date,
                 period_end: date) -> list[dict]:
    price = Decimal(plan.monthly_price).quantize(CENT)
    lines = [{"kind": "plan", "description": f"{plan.name} plan, {period_start:%Y-%m}", "quantity": "1",
              "unit_price": str(price), "amount": str(price)}]
    after = _midnight(period_end + timedelta(days=1))
    grants = (await session.execute(
        select(TenantModule.module).where(
            TenantModule.tenant_id == tenant.id, TenantModule.created_at < after,
            or_(TenantModule.expires_at.is_(None), TenantModule.expires_at > _midnight(period_start)),
        ).order_by(TenantModule.module)
    )).scalars().all()
    for module in grants:
        if module not in (plan.modules or ()):
            lines.append({"kind": "usage", "description": f"module '{module}' granted beyond the plan",
                          "quantity": "1", "unit_price": "0.00", "amount": "0.00"})
    return lines


async def _issue_one(platform: "Platform", tenant_id, today: date, period: tuple[date, date],
                     actor: str) -> tuple[str, InvoiceView | None, str | None]:
    """Issue one tenant's invoice for the period in its own transaction: (subdomain, invoice, why not)."""
    period_start, period_end = period
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        await session.execute(_NUMBER_LOCK)
        # Read after taking the lock: a concurrent run's invoice is committed and visible by now.
        tenant = await session.get(Tenant, tenant_id)
        if tenant is None:  # removed since the candidates were listed
            return str(tenant_id), None, "gone"
        plan = await session.get(Plan, tenant.plan)
        exists = await session.scalar(select(Invoice.number).where(
            Invoice.tenant_id == tenant.id, Invoice.period_start == period_start))
        if exists is not None:
            return tenant.subdomain, None, f"already invoiced ({exists})"
        why = _why_not_billed(tenant, plan, period_start)
        if why is not None:
            return tenant.subdomain, None, why
        lines = await _lines(session, tenant, plan, period_start, period_end)
        amount = sum((Decimal(line["amount"]) for line in lines), Decimal("0")).quantize(CENT)
        if amount == 0:
            return tenant.subdomain, None, "nothing to bill"
        last = await session.scalar(_LAST_NUMBER, {"prefix": f"INV/{today.year}/%"})
        invoice = Invoice(
            tenant_id=tenant.id, number=f"INV/{today.year}/{(last or 0) + 1:05d}", period_start=period_start,
            period_end=period_end, plan=plan.code, amount=amount, lines=lines, status="issued",
            due_date=today + timedelta(days=platform.settings.invoice_due_days),
        )
        session.add(invoice)
        await session.flush()
        session.add(PlatformEvent(tenant_id=tenant.id, actor=actor, action="invoice.issued", detail={
            "number": invoice.number, "amount": str(amount), "period_start": period_start.isoformat(),
            "due_date": invoice.due_date.isoformat()}))
        await session.commit()
        await session.refresh(invoice)
        return tenant.subdomain, InvoiceView.of(invoice, tenant.subdomain), None


async def _notify_provider(platform: "Platform", provider: PaymentProvider, view: InvoiceView, tenant_id,
                           actor: str) -> None:
    try:
        reference = await provider.invoice_issued(view)
    except Exception as exc:  # a gateway failure must not undo or block invoicing
        log.exception("payment provider %s failed for %s", provider.name, view.number)
        action, detail = "invoice.payment_hook_failed", {"error": f"{type(exc).__name__}: {exc}"[:500]}
    else:
        if reference is None:
            return
        action, detail = "invoice.payment_requested", {"reference": str(reference)[:500]}
    async with AsyncSession(platform.main_engine) as session:
        session.add(PlatformEvent(tenant_id=tenant_id, actor=actor, action=action,
                                  detail={"number": view.number, "provider": provider.name, **detail}))
        await session.commit()


async def run(platform: "Platform", today: date | None = None, *, provider: PaymentProvider | None = None,
              actor: str = "billing") -> RunResult:
    """Issue the invoices due for the month before `today` (default: today, UTC); see the module rules."""
    today = today or datetime.now(timezone.utc).date()
    if provider is None:
        provider = payment_provider(getattr(platform.settings, "payment_provider", None))
    period = billing_period(today)
    result = RunResult(*period)
    async with AsyncSession(platform.main_engine) as session:
        candidates = (await session.execute(
            select(Tenant.id, Tenant.subdomain).where(
                Tenant.status.in_(BILLED_STATUSES),
                ~select(Invoice.id).where(Invoice.tenant_id == Tenant.id, Invoice.period_start == period[0]).exists(),
            ).order_by(Tenant.subdomain)
        )).all()
    for tenant_id, _ in candidates:
        subdomain, view, why = await _issue_one(platform, tenant_id, today, period, actor)
        if view is None:
            result.skipped.append((subdomain, why))
            continue
        result.issued.append(view)
        await _notify_provider(platform, provider, view, tenant_id, actor)
    return result


# -- listing ----------------------------------------------------------------------------------------------
async def list_invoices(main_engine: AsyncEngine, *, tenant: str | None = None, status: str | None = None,
                        today: date | None = None, grace_days: int = 0) -> list[InvoiceView]:
    """Invoices, newest first; `status` is issued/paid/void, or overdue (issued, past due + grace)."""
    if status is not None and status not in LIST_STATUSES:
        raise InvalidInput(f"unknown invoice status '{status}' (one of: {', '.join(LIST_STATUSES)})")
    today = today or datetime.now(timezone.utc).date()
    stmt = select(Invoice, Tenant.subdomain).join(Tenant, Tenant.id == Invoice.tenant_id)
    async with AsyncSession(main_engine) as session:
        if tenant is not None:
            if not await session.scalar(select(func.count()).select_from(Tenant).where(Tenant.subdomain == tenant)):
                raise NotFound(f"no tenant '{tenant}'")
            stmt = stmt.where(Tenant.subdomain == tenant)
        if status == "overdue":
            stmt = stmt.where(_overdue_clause(today, grace_days))
        elif status is not None:
            stmt = stmt.where(Invoice.status == status)
        rows = (await session.execute(stmt.order_by(Invoice.issued_at.desc(), Invoice.number.desc()))).all()
        return [InvoiceView.of(inv, sub) for inv, sub in rows]


async def get_invoice(main_engine: AsyncEngine, number: str) -> InvoiceView:
    number = _number(number)
    async with AsyncSession(main_engine) as session:
        row = (await session.execute(
            select(Invoice, Tenant.subdomain).join(Tenant, Tenant.id == Invoice.tenant_id).where(Invoice.number == number)
        )).first()
    if row is None:
        raise NotFound(f"no invoice '{number}'")
    return InvoiceView.of(*row)


def _number(number: str) -> str:
    return (number or "").strip().upper()


# -- overdue: suspend and resume ---------------------------------------------------------------------------
def _overdue_clause(today: date, grace_days: int):
    # Unpaid and past due date + grace: due_date + grace < today.
    return and_(Invoice.status == "issued", Invoice.amount > 0,
                Invoice.due_date < today - timedelta(days=grace_days))


@dataclass
class Suspension:
    tenant: str
    invoice: str
    due_date: date

    def as_json(self) -> dict:
        return {"tenant": self.tenant, "invoice": self.invoice, "due_date": self.due_date.isoformat()}


async def suspend_overdue(platform: "Platform", today: date | None = None, *,
                          actor: str = "billing") -> list[Suspension]:
    """Suspend every active tenant with an invoice unpaid past its due date + the grace period (run daily)."""
    today = today or datetime.now(timezone.utc).date()
    overdue = _overdue_clause(today, platform.settings.billing_grace_days)
    async with AsyncSession(platform.main_engine) as session:
        tenant_ids = (await session.execute(
            select(Tenant.id).join(Invoice, Invoice.tenant_id == Tenant.id)
            .where(Tenant.status == "active", overdue).group_by(Tenant.id).order_by(func.min(Invoice.due_date))
        )).scalars().all()
    done: list[Suspension] = []
    for tenant_id in tenant_ids:
        async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
            tenant = (await session.execute(
                select(Tenant).where(Tenant.id == tenant_id).options(selectinload(Tenant.domains))
                .with_for_update(of=Tenant)
            )).scalar_one()
            oldest = (await session.execute(
                select(Invoice).where(Invoice.tenant_id == tenant_id, overdue)
                .order_by(Invoice.due_date, Invoice.number).limit(1)
            )).scalar_one_or_none()
            if tenant.status != "active" or oldest is None:
                continue  # changed meanwhile (paid, or suspended by someone else)
            tenant.status = "suspended"
            tenant.status_reason = OVERDUE_REASON + oldest.number
            session.add(PlatformEvent(tenant_id=tenant.id, actor=actor, action="tenant.suspended", detail={
                "reason": tenant.status_reason, "invoice": oldest.number, "due_date": oldest.due_date.isoformat()}))
            await session.commit()
        await platform.tenant_changed(tenant.subdomain, [d.domain for d in tenant.domains], tenant.id)
        done.append(Suspension(tenant.subdomain, oldest.number, oldest.due_date))
    return done


@dataclass
class Payment:
    invoice: InvoiceView
    resumed: bool  # the tenant was suspended for non-payment and is active again
    still_overdue: str | None = None  # another overdue invoice keeps it suspended

    def as_json(self) -> dict:
        return {"invoice": self.invoice.as_json(), "resumed": self.resumed, "still_overdue": self.still_overdue}


async def mark_paid(platform: "Platform", number: str, reference: str | None = None, *, today: date | None = None,
                    actor: str = "cli") -> Payment:
    """Record an invoice as paid; resume its tenant if it was suspended for non-payment and nothing else is
    overdue."""
    number = _number(number)
    if reference is not None:
        reference = reference.strip() or None
        if reference is not None and len(reference) > 200:
            raise InvalidInput("the payment reference is longer than 200 characters")
    today = today or datetime.now(timezone.utc).date()
    resumed, still = False, None
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        invoice = (await session.execute(
            select(Invoice).where(Invoice.number == number).with_for_update()
        )).scalar_one_or_none()
        if invoice is None:
            raise NotFound(f"no invoice '{number}'")
        if invoice.status == "paid":
            raise Conflict(f"invoice {number} is already paid ({invoice.paid_at:%Y-%m-%d})")
        if invoice.status != "issued":
            raise Conflict(f"invoice {number} is {invoice.status} and cannot be paid")
        tenant = (await session.execute(
            select(Tenant).where(Tenant.id == invoice.tenant_id).options(selectinload(Tenant.domains))
            .with_for_update(of=Tenant)
        )).scalar_one()
        invoice.status = "paid"
        invoice.paid_at = datetime.now(timezone.utc)
        invoice.payment_reference = reference
        session.add(PlatformEvent(tenant_id=tenant.id, actor=actor, action="invoice.paid",
                                  detail={"number": number, "reference": reference}))
        if tenant.status == "suspended" and (tenant.status_reason or "").startswith(OVERDUE_REASON):
            await session.flush()
            other = (await session.execute(
                select(Invoice.number).where(
                    Invoice.tenant_id == tenant.id,
                    _overdue_clause(today, platform.settings.billing_grace_days),
                ).order_by(Invoice.due_date, Invoice.number).limit(1)
            )).scalar_one_or_none()
            if other is None:
                tenant.status, tenant.status_reason, resumed = "active", None, True
                session.add(PlatformEvent(tenant_id=tenant.id, actor=actor, action="tenant.resumed",
                                          detail={"reason": f"invoice {number} paid"}))
            else:
                tenant.status_reason, still = OVERDUE_REASON + other, other
        await session.commit()
        await session.refresh(invoice)
        view = InvoiceView.of(invoice, tenant.subdomain)
    if resumed:
        await platform.tenant_changed(tenant.subdomain, [d.domain for d in tenant.domains], tenant.id)
    return Payment(view, resumed, still)
