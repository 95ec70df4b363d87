"""Property-based fuzzing of the tenant JSON API with schemathesis: every operation of the tenant app's own
OpenAPI document (fetched from the tenant host), valid and invalid inputs, signed in as the owner with an
API token, against the live server over HTTP with the Host header. The only property: never a 5xx.

Bounded to a few examples per operation (no shrinking, no deadline, derandomized) so it stays well under a
minute and fails the same way every run; a failure lists every operation that broke with a curl to replay.
"""

from __future__ import annotations

import time

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Unsatisfiable
from hypothesis import settings as hsettings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.fixtures.auth import make_user

EXAMPLES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 3}
HOST = "pt-abc.localhost"


def _fuzz(schema, base_url: str, headers: dict, mode: GenerationMode, examples: int, session: requests.Session,
          only: set[str] | None = None) -> tuple[list[str], int]:
    """(failures, operations run) for one generation mode."""
    failures, ran = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is not None and operation.label not in only:
            continue
        ran += 1
        seen: list = []

        @hsettings(max_examples=examples, phases=[Phase.explicit, Phase.generate], deadline=None, derandomize=True,
                   database=None, suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            seen.append(case)
            response = case.call(base_url=base_url, headers=headers, session=session, timeout=30)
            case.validate_response(response, checks=[not_a_server_error], headers=headers)

        try:
            run()
        except Unsatisfiable:
            pass  # nothing to make invalid (an operation without parameters or body, in negative mode)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every failure, report them all
            case = seen[-1] if seen else None
            curl = case.as_curl_command(headers=headers, base_url=base_url) if case is not None else ""
            failures.append(f"{operation.label} [{mode.value}]: {type(exc).__name__}: {str(exc)[:300]}\n    {curl}")
    return failures, ran


@pytest.fixture
def owner_api(make_tenant_sync, live):
    """(schema, headers) for pt-abc's owner, with a little data so that list/report paths have rows."""
    make_tenant_sync("pt-abc")
    owner = make_user(live.settings, "pt-abc", ["owner"])
    headers = {"Host": HOST, "Authorization": f"Bearer {owner['token']}"}
    with httpx.Client(base_url=live.base_url, headers=headers, timeout=30) as c:
        loc = c.post("/api/v1/locations", json={"code": "FUZZ-WH", "name": "fuzz"}).json()
        product = c.post("/api/v1/products", json={"sku": "FUZZ-1", "name": "fuzz"}).json()
        c.post("/api/v1/stock-movements", json={"kind": "IN", "variant_id": product["variants"][0]["id"],
                                                "quantity": "3", "to_location": loc["id"], "unit_cost": "10"})
        raw = c.get("/openapi.json")
        assert raw.status_code == 200, raw.text
    schema = schemathesis.openapi.from_dict(raw.json())
    return schema, headers


def test_no_operation_of_the_tenant_api_answers_a_server_error(owner_api, live):
    schema, headers = owner_api
    started = time.monotonic()
    failures, ran = [], 0
    with requests.Session() as session:
        for mode, examples in EXAMPLES.items():
            found, ran = _fuzz(schema, live.base_url, headers, mode, examples, session)
            failures += found
    assert ran >= 50, f"only {ran} operations in the tenant OpenAPI document"
    assert not failures, f"{len(failures)} failing operation(s) in {time.monotonic() - started:.0f}s:\n" + \
        "\n".join(failures)


NUL_REQUESTS = [
    ("POST", "/api/v1/auth/login", None, {"email": "a\x00@example.test", "password": "whatever-123"}),
    ("POST", "/api/v1/auth/password-reset", None, {"email": "a\x00@example.test"}),
    ("POST", "/api/v1/auth/tokens", None, {"name": "script\x00"}),
    ("POST", "/api/v1/products", None, {"sku": "NUL-1", "name": "nul\x00name"}),
    ("GET", "/api/v1/products", {"q": "a\x00"}, None),
    ("GET", "/api/v1/journal-entries", {"doc_type": "\x00"}, None),
]


def test_nul_characters_are_a_clear_422_not_a_500(owner_api, live):
    """PostgreSQL refuses U+0000 in text; the fuzzer found it as a 500 on these operations (regression test)."""
    _, headers = owner_api
    answers = {}
    with httpx.Client(base_url=live.base_url, headers=headers, timeout=30) as c:
        for method, path, params, body in NUL_REQUESTS:
            answers[(method, path)] = c.request(method, path, params=params, json=body).status_code
    assert all(status == 422 for status in answers.values()), answers
