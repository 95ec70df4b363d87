"""MRP-lite: run the netting (erp/planning/netting.py) on figures read in a fixed number of set-based queries
(repository.py), keep the proposals, and turn approved ones into documents through their owners' services:
a draft production order (erp/production/orders) or a draft purchase request (erp/purchasing)."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.models.planning import MrpProposal, MrpRun
from polyflow.erp.planning import netting, repository
from polyflow.erp.planning.schemas import ProposalOut, RunIn
from polyflow.erp.purchasing.orders import create_request
from polyflow.erp.purchasing.schemas import RequestIn, RequestLineIn
from polyflow.kit.errors import Conflict, InvalidInput, NotFound

DOC_TYPE = "MRP"
accounting.DOC_TYPES.setdefault(DOC_TYPE, "MRP run")
# A purchase request holds at most this many lines (purchasing's RequestIn).
REQUEST_LINES = 200


async def run_mrp(session: AsyncSession, data: RunIn, user_id: uuid.UUID | None) -> MrpRun:
    """Net demand against stock and supply level by level and propose production and purchases; the
    previous runs' still-proposed proposals are superseded."""
    started = time.perf_counter()
    location_id = None
    if data.location is not None:
        location = await repository.location(session, data.location)
        if location is None:
            raise InvalidInput(f"unknown location '{data.location}'")
        if location.kind in repository.UNAVAILABLE_LOCATION_KINDS:
            raise InvalidInput(f"location {location.code} is a {location.kind} location: its stock is never "
                               "available, plan for a warehouse or production location")
        location_id = location.id
    await repository.lock_runs(session)
    today = await accounting.local_today(session)
    horizon_end = today + timedelta(days=data.horizon_days)

    items = {v: netting.Item(*row) for v, row in (await repository.planning_items(session)).items()}
    boms = netting.boms_by_product(await repository.default_boms(session))
    sales = await repository.open_sales_lines(session, horizon_end, location_id) if data.include_sales else []
    proposals, levels = netting.plan(
        items=items, boms=boms, available=await repository.available_stock(session, location_id),
        supply=await repository.open_supply(session, horizon_end, location_id),
        order_demand=await repository.open_order_materials(session, horizon_end, location_id),
        sales_lines=sales, include_reorder=data.include_reorder, today=today)

    run = MrpRun(number=await accounting.next_document_number(session, DOC_TYPE, today), run_date=today,
                 horizon_days=data.horizon_days, horizon_end=horizon_end, include_sales=data.include_sales,
                 include_reorder=data.include_reorder, location_id=location_id, levels=levels,
                 production_count=sum(p["kind"] == "production" for p in proposals),
                 purchase_count=sum(p["kind"] == "purchase" for p in proposals), created_by=user_id)
    session.add(run)
    await session.flush()
    run.superseded_count = await repository.supersede_proposed(session, run.id)
    await repository.insert_proposals(session, [{**p, "run_id": run.id} for p in proposals])
    run.duration_ms = round((time.perf_counter() - started) * 1000)
    await session.flush()
    return run


async def get_run(session: AsyncSession, run_id: uuid.UUID) -> MrpRun:
    """One MRP run of this tenant, or 404."""
    run = await repository.get_run(session, run_id)
    if run is None:
        raise NotFound("MRP run not found")
    return run


async def list_runs(session: AsyncSession, *, limit: int, offset: int):
    """MRP runs, newest first, and how many there are."""
    return await repository.list_runs(session, limit=limit, offset=offset)


def proposal_out(proposal: MrpProposal, sku: str | None) -> ProposalOut:
    return ProposalOut.model_validate(proposal).model_copy(update={"sku": sku})


async def list_proposals(session: AsyncSession, run_id: uuid.UUID, *, kind: str | None, status: str | None,
                         limit: int, offset: int) -> tuple[list[ProposalOut], int]:
    """A page of a run's proposals, BOM level then SKU."""
    rows, total = await repository.list_proposals(session, run_id, kind=kind, status=status, limit=limit,
                                                  offset=offset)
    return [proposal_out(p, sku) for p, sku in rows], total


def _undecided(proposal: MrpProposal, sku: str, action: str) -> None:
    if proposal.status == "proposed":
        return
    hint = {"superseded": ": a later MRP run replaced it, decide on that run's proposals",
            "approved": " already", "rejected": " already"}[proposal.status]
    raise Conflict(f"the {proposal.kind} proposal for {sku} is {proposal.status}{hint}; only a proposed one can be "
                   f"{action}")


async def _approve(session: AsyncSession, rows: list[tuple[MrpProposal, str]], user_id: uuid.UUID | None) -> None:
    for proposal, sku in rows:
        _undecided(proposal, sku, "approved")
    run_numbers = {}
    for proposal, _sku in rows:
        if proposal.run_id not in run_numbers:
            run_numbers[proposal.run_id] = (await get_run(session, proposal.run_id)).number
    now = datetime.now(timezone.utc)

    def decided(proposal: MrpProposal) -> None:
        # With the document id in the same flush: the table checks that an approved proposal has one.
        proposal.status, proposal.decided_by, proposal.decided_at = "approved", user_id, now

    for proposal, _sku in rows:
        if proposal.kind == "production":
            order_id = await _production_order(session, proposal, run_numbers[proposal.run_id], user_id)
            proposal.production_order_id = order_id
            decided(proposal)
    buys = [p for p, _sku in sorted(rows, key=lambda r: (r[0].level, r[1])) if p.kind == "purchase"]
    for start in range(0, len(buys), REQUEST_LINES):
        chunk = buys[start:start + REQUEST_LINES]
        # The request line carries when the goods must be in (needed_by); when to order them by is the
        # proposal's start_by, which a buyer reads on the proposal.
        request = await create_request(session, RequestIn(
            note="from MRP run " + ", ".join(sorted({run_numbers[p.run_id] for p in chunk})),
            lines=[RequestLineIn(variant_id=p.variant_id, quantity=p.quantity, needed_by=p.needed_by)
                   for p in chunk]), user_id)
        for p in chunk:
            p.purchase_request_id = request.id
            decided(p)
    await session.flush()


async def _production_order(session: AsyncSession, proposal: MrpProposal, run_number: str,
                            user_id: uuid.UUID | None) -> uuid.UUID:
    """A draft production order for the proposal, through the orders service (production owns orders)."""
    from polyflow.erp.production.orders import service as orders  # written alongside; imported when used
    from polyflow.erp.production.orders.schemas import OrderIn

    # Made for one sales line only: keep the make-to-order link.
    lines = proposal.sales_order_line_ids or []
    only_line = lines[0] if len(lines) == 1 and not proposal.order_demand and not proposal.dependent_demand else None
    order = await orders.create_order(session, OrderIn(
        variant_id=proposal.variant_id, quantity=proposal.quantity, bom_id=proposal.bom_id,
        planned_start=proposal.start_by, due_date=proposal.needed_by, sales_order_line_id=only_line, note=f"from MRP run {run_number}"), user_id)
    return order.id


async def approve(session: AsyncSession, proposal_id: uuid.UUID, user_id: uuid.UUID | None) -> ProposalOut:
    """proposed -> approved: a draft production order or purchase request is created (409 if decided)."""
    rows = await repository.proposals_for_update(session, [proposal_id])
    if not rows:
        raise NotFound("MRP proposal not found")
    await _approve(session, rows, user_id)
    return proposal_out(*rows[0])


async def approve_many(session: AsyncSession, run_id: uuid.UUID, proposal_ids: list[uuid.UUID],
                       user_id: uuid.UUID | None) -> list[ProposalOut]:
    """Approve proposals of one run together (all or none); the purchases go into one purchase request."""
    await get_run(session, run_id)
    wanted = list(dict.fromkeys(proposal_ids))
    rows = [(p, sku) for p, sku in await repository.proposals_for_update(session, wanted) if p.run_id == run_id]
    missing = set(wanted) - {p.id for p, _sku in rows}
    if missing:
        raise InvalidInput(f"{len(missing)} of the proposal_ids are not proposals of this run: "
                           + ", ".join(sorted(str(m) for m in missing)[:5]))
    await _approve(session, rows, user_id)
    return [proposal_out(p, sku) for p, sku in rows]


async def reject(session: AsyncSession, proposal_id: uuid.UUID, user_id: uuid.UUID | None) -> ProposalOut:
    """proposed -> rejected (409 if already decided)."""
    rows = await repository.proposals_for_update(session, [proposal_id])
    if not rows:
        raise NotFound("MRP proposal not found")
    proposal, sku = rows[0]
    _undecided(proposal, sku, "rejected")
    proposal.status, proposal.decided_by, proposal.decided_at = "rejected", user_id, datetime.now(timezone.utc)
    await session.flush()
    return proposal_out(proposal, sku)
