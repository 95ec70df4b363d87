"""How long the largest page of each list/report keeps the event loop busy while it is turned into JSON.

The time measured is what FastAPI does on the loop after the endpoint returns: validating the ORM rows
into the response model and encoding the body. FastAPI >= 0.12x takes a fast path for routes with a
response model and the default response class ("dump_json": pydantic-core writes the JSON bytes in
Rust); the other columns are the older path (a dict, then json.dumps) and that path with orjson. Rows are
built in memory with the shapes the endpoints return (no database); each case is the largest page the
caps allow. Prints one table; medians of 7 runs.

    python bench/page_serialisation.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from types import SimpleNamespace

import warnings

from fastapi.responses import JSONResponse, ORJSONResponse
from fastapi.routing import serialize_response
from fastapi.utils import create_model_field

from polyflow.erp.accounting.schemas import GeneralLedger, JournalOut
from polyflow.erp.inventory.schemas import History, MovementOut
from polyflow.kit.pagination import MAX_PAGE_SIZE, CursorPage

warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")  # measured on purpose, for comparison
NOW = datetime(2026, 3, 6, 10, 0, tzinfo=timezone.utc)


def _line(i: int) -> SimpleNamespace:
    return SimpleNamespace(account_code="1101" if i % 2 else "4101", debit=Decimal("1250000.00") if i % 2 else
                           Decimal("0.00"), credit=Decimal("0.00") if i % 2 else Decimal("1250000.00"),
                           memo=f"line {i} of an entry")


def _entry(i: int, lines: int) -> SimpleNamespace:
    return SimpleNamespace(id=uuid.uuid4(), number=f"JV/2026/{i:05d}", doc_type="JV", status="posted",
                           entry_date=date(2026, 3, 6), description=f"Entry {i}: a description of usual length",
                           reference=f"REF-{i}", source="manual", created_at=NOW, reversal_of_id=None,
                           reversed_by_id=None, shown_lines=[_line(j) for j in range(lines)])


def _movement(i: int) -> SimpleNamespace:
    return SimpleNamespace(id=uuid.uuid4(), number=f"GR/2026/{i:05d}", kind="IN", variant_id=uuid.uuid4(),
                           from_location_id=None, to_location_id=uuid.uuid4(), quantity=Decimal("25.000"),
                           unit_cost=Decimal("21000.0000"), value=Decimal("525000.00"), reason="purchase",
                           reference=f"PO-{i}", note=None, posting_date=date(2026, 3, 6), moved_at=NOW,
                           user_id=uuid.uuid4(), journal_entry_id=uuid.uuid4())


def _cases(lines_per_entry: int) -> list[tuple[str, type, object]]:
    n = MAX_PAGE_SIZE
    account = SimpleNamespace(code="1101", name="Kas", type="asset", is_active=True, parent_code=None,
                              description=None, created_at=NOW, updated_at=NOW)
    gl = dict(account=account, date_from=None, date_to=date(2026, 12, 31), opening_balance=Decimal("0.00"),
              closing_balance=Decimal("9.00"), limit=n, next_cursor="x" * 60, lines=[
                  dict(entry_id=uuid.uuid4(), number=f"JV/2026/{i:05d}", entry_date=date(2026, 3, 6),
                       description="Entry of usual length", memo=None, debit=Decimal("1.00"), credit=Decimal("0.00"),
                       balance=Decimal(i)) for i in range(n)])
    history = dict(variant_id=uuid.uuid4(), location_id=None, limit=n, next_cursor="x" * 60, lines=[
        dict(movement_id=uuid.uuid4(), number=f"GR/2026/{i:05d}", kind="IN", posting_date=date(2026, 3, 6),
             moved_at=NOW, reference=None, quantity_change=Decimal("1.000"), balance=Decimal(i),
             value_change=Decimal("10.00")) for i in range(n)])
    return [
        (f"journal-entries: {n} entries x {lines_per_entry} lines", CursorPage[JournalOut],
         dict(items=[_entry(i, lines_per_entry) for i in range(n)], total=10_000, limit=n, offset=0,
              next_cursor="x" * 60)),
        (f"stock-movements: {n}", CursorPage[MovementOut],
         dict(items=[_movement(i) for i in range(n)], total=10_000, limit=n, offset=0, next_cursor="x" * 60)),
        (f"general-ledger: {n} lines", GeneralLedger, GeneralLedger.model_validate(gl, from_attributes=True)),
        (f"stock history: {n} lines", History, History.model_validate(history)),
    ]


async def _time(model, content, response_class) -> float:
    field = create_model_field(name="Response", type_=model, mode="serialization")
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        if response_class is None:  # FastAPI's fast path for the default response class
            await serialize_response(field=field, response_content=content, is_coroutine=True, dump_json=True)
        else:
            response_class(await serialize_response(field=field, response_content=content, is_coroutine=True))
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


async def main(lines_cases: list[int]) -> None:
    print(f"{'page':<44} {'bytes':>9} {'dump_json ms':>12} {'json ms':>8} {'orjson ms':>9}")
    for lines in lines_cases:
        for name, model, content in _cases(lines):
            if "journal" not in name and lines != lines_cases[0]:
                continue
            field = create_model_field(name="Response", type_=model, mode="serialization")
            size = len(await serialize_response(field=field, response_content=content, is_coroutine=True,
                                                dump_json=True))
            fast = await _time(model, content, None)
            std = await _time(model, content, JSONResponse)
            orj = await _time(model, content, ORJSONResponse)
            print(f"{name:<44} {size:>9} {fast:>12.1f} {std:>8.1f} {orj:>9.1f}")


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [2, 10, 50]))
