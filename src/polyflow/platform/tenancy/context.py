"""The tenant of the current request, for code that cannot take it as a parameter (logging).

Set only by the tenancy middleware from the resolved Host, never from a client header.
"""

from __future__ import annotations

from contextvars import ContextVar

from polyflow.platform.tenancy.route import TenantRoute

current_tenant: ContextVar[TenantRoute | None] = ContextVar("polyflow_current_tenant", default=None)
