"""Machines and their downtime, shifts, operators and piece rates: the floor's people and work centres."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Machine, MachineDowntime, Operator, PieceRate, Shift
from polyflow.erp.production.floor import repository
from polyflow.erp.production.floor.schemas import (
    DowntimeEnd, DowntimeIn, MachineIn, MachinePatch, OperatorIn, OperatorPatch, PieceRateIn, ShiftIn, ShiftPatch,
)
from polyflow.kit.errors import Conflict, InvalidInput, NotFound


async def flush_or_taken(session: AsyncSession, what: str) -> None:
    """Flush; a unique code already in use becomes a 409 naming it."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"{what} is already used") from None


def _changes(patch, required: tuple[str, ...]) -> dict:
    # null in a PATCH clears an optional field; for a required one it means "leave as is".
    return {k: v for k, v in patch.model_dump(exclude_unset=True).items() if not (v is None and k in required)}


# -- machines --------------------------------------------------------------------------------------------------


async def _location_id(session: AsyncSession, ref: str | None) -> uuid.UUID | None:
    if ref is None:
        return None
    location = await repository.location_by_ref(session, ref)
    if location is None:
        raise InvalidInput(f"location '{ref}' not found")
    return location.id


async def get_machine(session: AsyncSession, machine_id: uuid.UUID) -> Machine:
    """One machine, or 404."""
    machine = await session.get(Machine, machine_id)
    if machine is None:
        raise NotFound("machine not found")
    return machine


async def list_machines(session: AsyncSession, *, machine_type: str | None, status: str | None, limit: int,
                        offset: int) -> tuple[list[Machine], int]:
    """A page of machines by code, filtered by type and status."""
    filters = []
    if machine_type is not None:
        filters.append(Machine.machine_type == machine_type)
    if status is not None:
        filters.append(Machine.status == status)
    return await repository.page(session, Machine, filters, [Machine.code], limit, offset)


async def create_machine(session: AsyncSession, data: MachineIn) -> Machine:
    """A work centre; its code is unique (409)."""
    fields = data.model_dump(exclude={"location", "code"})
    machine = Machine(code=data.code.upper(), location_id=await _location_id(session, data.location), **fields)
    session.add(machine)
    await flush_or_taken(session, f"machine code '{machine.code}'")
    await session.refresh(machine)
    return machine


async def update_machine(session: AsyncSession, machine_id: uuid.UUID, patch: MachinePatch) -> Machine:
    """Change the given fields. A machine is never deleted: status 'retired' takes it off new routes."""
    machine = await get_machine(session, machine_id)
    changes = _changes(patch, ("name", "machine_type", "status", "overhead_rate", "overhead_basis"))
    if "location" in changes:
        machine.location_id = await _location_id(session, changes.pop("location"))
    if changes.get("machine_type", machine.machine_type) != machine.machine_type \
            and await repository.machine_in_routes(session, machine.id):
        raise Conflict(f"machine {machine.code} is on a route as type {machine.machine_type}: its type cannot "
                       "change (add a new machine instead)")
    for key, value in changes.items():
        setattr(machine, key, value)
    await session.flush()
    await session.refresh(machine)
    return machine


# -- downtime --------------------------------------------------------------------------------------------------


def _when(value: datetime) -> str:
    return value.isoformat(timespec="minutes")


async def _refuse_overlap(session: AsyncSession, machine: Machine, start: datetime, end: datetime | None,
                          other_than: uuid.UUID | None = None) -> None:
    clash = await repository.overlapping_downtime(session, machine.id, start, end, other_than=other_than)
    if clash is not None:
        until = _when(clash.ended_at) if clash.ended_at else "still open"
        raise Conflict(f"machine {machine.code} already has a downtime ({clash.reason}) from "
                       f"{_when(clash.started_at)} to {until} that overlaps this one")


async def start_downtime(session: AsyncSession, machine_id: uuid.UUID, data: DowntimeIn,
                         user_id: uuid.UUID | None) -> MachineDowntime:
    """Record a stop of a machine (open while ended_at is empty); overlapping another stop of it is a 409."""
    # The machine row is the lock: two stops recorded at once for one machine queue here, so the
    # overlap check below sees the other one.
    machine = await repository.machine_for_update(session, machine_id)
    if machine is None:
        raise NotFound("machine not found")
    if machine.status == "retired":
        raise Conflict(f"machine {machine.code} is retired: set its status back first to record a downtime")
    shift = None
    if data.shift_id is not None or data.shift is not None:
        shift = await repository.shift_by_ref(session, str(data.shift_id or data.shift))
        if shift is None:
            raise InvalidInput(f"shift {data.shift or data.shift_id} not found")
    await _refuse_overlap(session, machine, data.started_at, data.ended_at)
    downtime = MachineDowntime(machine_id=machine.id, created_by=user_id, shift_id=shift.id if shift else None,
                               **data.model_dump(exclude={"shift", "shift_id"}))
    session.add(downtime)
    await session.flush()
    await session.refresh(downtime)
    return downtime


async def end_downtime(session: AsyncSession, machine_id: uuid.UUID, downtime_id: uuid.UUID,
                       data: DowntimeEnd) -> MachineDowntime:
    """Close an open downtime (at `ended_at`, default now)."""
    machine = await repository.machine_for_update(session, machine_id)
    downtime = await repository.downtime(session, machine_id, downtime_id) if machine is not None else None
    if downtime is None:
        raise NotFound("downtime not found")
    if downtime.ended_at is not None:
        raise Conflict(f"this downtime already ended at {_when(downtime.ended_at)}")
    ended_at = data.ended_at or datetime.now(timezone.utc)
    if ended_at <= downtime.started_at:
        raise InvalidInput(f"ended_at must be after the downtime's start ({_when(downtime.started_at)})")
    await _refuse_overlap(session, machine, downtime.started_at, ended_at, other_than=downtime.id)
    downtime.ended_at = ended_at
    if data.note is not None:
        downtime.note = data.note
    await session.flush()
    await session.refresh(downtime)
    return downtime


async def list_downtimes(session: AsyncSession, machine_id: uuid.UUID, *, open_only: bool | None, limit: int,
                         offset: int) -> tuple[list[MachineDowntime], int]:
    """A machine's downtimes, latest first."""
    await get_machine(session, machine_id)
    filters = [MachineDowntime.machine_id == machine_id]
    if open_only is not None:
        filters.append(MachineDowntime.ended_at.is_(None) if open_only else MachineDowntime.ended_at.is_not(None))
    return await repository.page(session, MachineDowntime, filters,
                                 [MachineDowntime.started_at.desc(), MachineDowntime.id], limit, offset)


# -- shifts ----------------------------------------------------------------------------------------------------


def shift_window(shift: Shift, work_date: date, tz: timezone | None = None) -> tuple[datetime, datetime]:
    """The start and end of a shift worked on `work_date` (a night shift ends the next day)."""
    start = datetime.combine(work_date, shift.starts_at, tzinfo=tz)
    end = datetime.combine(work_date, shift.ends_at, tzinfo=tz)
    if shift.ends_at <= shift.starts_at:
        end += timedelta(days=1)
    return start, end


def shift_hours(starts_at: time, ends_at: time) -> Decimal:
    """Hours in a shift, across midnight when it ends before it starts."""
    minutes = (ends_at.hour * 60 + ends_at.minute) - (starts_at.hour * 60 + starts_at.minute)
    if minutes <= 0:
        minutes += 24 * 60
    return (Decimal(minutes) / 60).quantize(Decimal("0.01"))


def _check_shift(shift: Shift) -> None:
    if shift.starts_at == shift.ends_at:
        raise InvalidInput("a shift must end at another time than it starts (a night shift may end the next day)")


async def get_shift(session: AsyncSession, shift_id: uuid.UUID) -> Shift:
    """One shift, or 404."""
    shift = await session.get(Shift, shift_id)
    if shift is None:
        raise NotFound("shift not found")
    return shift


async def list_shifts(session: AsyncSession, *, active: bool | None, limit: int, offset: int):
    """A page of shifts by start time."""
    filters = [] if active is None else [Shift.is_active == active]
    return await repository.page(session, Shift, filters, [Shift.starts_at, Shift.code], limit, offset)


async def create_shift(session: AsyncSession, data: ShiftIn) -> Shift:
    """A shift; one ending before it starts runs past midnight."""
    shift = Shift(**{**data.model_dump(), "code": data.code.upper()})
    _check_shift(shift)
    session.add(shift)
    await flush_or_taken(session, f"shift code '{shift.code}'")
    await session.refresh(shift)
    return shift


async def update_shift(session: AsyncSession, shift_id: uuid.UUID, patch: ShiftPatch) -> Shift:
    """Change the given fields."""
    shift = await get_shift(session, shift_id)
    for key, value in _changes(patch, ("name", "starts_at", "ends_at", "is_active")).items():
        setattr(shift, key, value)
    _check_shift(shift)
    await session.flush()
    await session.refresh(shift)
    return shift


# -- operators -------------------------------------------------------------------------------------------------


async def _check_user(session: AsyncSession, user_id: uuid.UUID | None) -> None:
    if user_id is not None and not await repository.user_exists(session, user_id):
        raise InvalidInput("user not found: link an operator to a user of this workspace, or to none")


async def get_operator(session: AsyncSession, operator_id: uuid.UUID) -> Operator:
    """One operator, or 404."""
    operator = await session.get(Operator, operator_id)
    if operator is None:
        raise NotFound("operator not found")
    return operator


async def list_operators(session: AsyncSession, *, active: bool | None, limit: int, offset: int):
    """A page of operators by code."""
    filters = [] if active is None else [Operator.is_active == active]
    return await repository.page(session, Operator, filters, [Operator.code], limit, offset)


async def create_operator(session: AsyncSession, data: OperatorIn) -> Operator:
    """A person on the floor (a link to a system user is optional)."""
    await _check_user(session, data.user_id)
    operator = Operator(**{**data.model_dump(), "code": data.code.upper()})
    session.add(operator)
    await flush_or_taken(session, f"operator code '{operator.code}'")
    await session.refresh(operator)
    return operator


async def update_operator(session: AsyncSession, operator_id: uuid.UUID, patch: OperatorPatch) -> Operator:
    """Change the given fields (user_id null unlinks the user)."""
    operator = await get_operator(session, operator_id)
    changes = _changes(patch, ("name", "is_active"))
    await _check_user(session, changes.get("user_id"))
    for key, value in changes.items():
        setattr(operator, key, value)
    await session.flush()
    await session.refresh(operator)
    return operator


# -- piece rates -----------------------------------------------------------------------------------------------


async def product_ref(session: AsyncSession, product_id: uuid.UUID | None, sku: str | None):
    """The product named by id or SKU (product or variant SKU), or 422; None when neither is given."""
    if product_id is None and sku is None:
        return None
    found = await (repository.product(session, product_id) if product_id is not None
                   else repository.product_by_sku(session, sku))
    if found is None:
        raise InvalidInput(f"product {sku or product_id} not found")
    return found


async def list_piece_rates(session: AsyncSession, *, stage: str | None, product_id: uuid.UUID | None, limit: int,
                           offset: int):
    """Piece rates by stage, product and date (latest first)."""
    filters = []
    if stage is not None:
        filters.append(PieceRate.stage == stage)
    if product_id is not None:
        filters.append(PieceRate.product_id == product_id)
    return await repository.page(session, PieceRate, filters,
                                 [PieceRate.stage, PieceRate.product_id.nulls_first(), PieceRate.valid_from.desc()],
                                 limit, offset)


async def create_piece_rate(session: AsyncSession, data: PieceRateIn) -> PieceRate:
    """A rate from `valid_from`; rates are never edited: a change is a new row with a later date."""
    product = await product_ref(session, data.product_id, data.sku)
    if product is not None and product.product_type == "service":
        raise InvalidInput(f"{product.sku} is a service: nothing is produced of it on the floor")
    product_id = product.id if product is not None else None
    # Stage-wide rates have product_id NULL, which a unique constraint does not compare: serialise and check.
    await repository.lock(session, f"piece-rate:{data.stage}")
    if await repository.piece_rate_exists(session, data.stage, product_id, data.valid_from):
        whose = product.sku if product is not None else "every product"
        raise Conflict(f"a {data.stage} rate for {whose} from {data.valid_from} exists already; rates are never "
                       "edited: add one with a later valid_from")
    rate = PieceRate(stage=data.stage, product_id=product_id, rate=data.rate, valid_from=data.valid_from)
    session.add(rate)
    await session.flush()
    await session.refresh(rate)
    return rate


async def piece_rate_for(session: AsyncSession, stage: str, product_id: uuid.UUID | None,
                         on: date) -> PieceRate | None:
    """The rate an execution on `on` earns: the product's own at that stage, else the stage's; None if none."""
    return await repository.piece_rate_in_effect(session, stage, product_id, on)
