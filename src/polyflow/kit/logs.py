"""Structured logs: one JSON object per line in production, readable text in development.

Everyone logs with the standard library as before (``log = logging.getLogger(__name__)``); what this module
adds is where the lines go and what they carry.

Setup (once per process; ``app_from_env``, ``polyflow dev`` and ``polyflow serve`` call it)::

    configure_logging(settings)   # POLYFLOW_LOG_FORMAT (json|text), POLYFLOW_LOG_LEVEL (INFO)

Every line names the request it belongs to: ``request_id``, ``tenant``, ``user``, ``route`` (the route's
template, ``/api/v1/products/{product_id}``, never the raw path with ids) and ``method``, read from the
request's context (set by `AccessLogMiddleware`, the tenancy middleware and the ERP's authentication), so a
service's ``log.warning(...)`` needs no extra arguments. Anything passed as ``extra={...}`` becomes a field of
its own. A JSON line::

    {"ts": "2026-11-30T01:02:03.456Z", "level": "INFO", "logger": "polyflow.access",
     "msg": "GET /api/v1/products/{product_id} 200", "request_id": "7f0c…", "tenant": "pt-abc",
     "user": "0b5e…", "route": "/api/v1/products/{product_id}", "method": "GET", "status": 200,
     "duration_ms": 12.4, "path": "/api/v1/products/42", "bytes": 512, "client_ip": "203.0.113.7"}

The access log (`AccessLogMiddleware`, logger ``polyflow.access``) writes one such line per request after the
response went out; probes (/healthz, /readyz, /metrics) only at DEBUG. uvicorn's own access log is switched off
wherever the app is started (it would log each request twice, without the tenant).

A fault that repeats (the main database down, Redis hanging) must not print a trace per request. Use an
outage log instead::

    from polyflow.kit.logs import outage

    try:
        route = await load(key)
    except OSError as exc:
        outage("main-db", log).failed("tenant registry unavailable", exc=exc)   # trace only the first time
        raise
    else:
        outage("main-db", log).recovered()                                    # cheap no-op when all is well

``outage(key, logger=None, every=None)`` returns the one `Outage` of that key in this process (thread-safe).
``failed(msg, *args, exc=None, level=logging.ERROR)`` logs the first failure of an outage with its trace, then
nothing per failure: at most one summary line every ``every`` seconds (POLYFLOW_LOG_OUTAGE_SUMMARY_SECONDS, 60)
saying how many failures happened since. ``recovered()`` ends the outage with one line (how long, how many
failures) and does nothing when there was none. ``failed`` returns True when it wrote a line. Properties:
``active``, ``failures`` (in this outage), ``outages`` (started since the process began).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import traceback
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from polyflow.kit.request_id import current_request_id
from polyflow.kit.web import client_ip

ACCESS_LOGGER = "polyflow.access"
# Answered all day long to load balancers and scrapers: logged at DEBUG only, or they would drown the rest.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/livez", "/metrics"})
# Field order of a JSON line; these are always present (null when unknown).
BASE_FIELDS = ("ts", "level", "logger", "msg", "request_id", "tenant", "user", "route", "method", "status",
               "duration_ms")
# Attributes every LogRecord has: not "extra" fields.
# uvicorn adds "color_message" (the message with terminal colours) to its records: not for a log file.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName", "color_message"}


# -- request context ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class RequestContext:
    """What a log line should say about the request it belongs to.

    One mutable object per request, held in a context variable: code deeper in the request (tenancy,
    authentication) fills it in, and the access line written by the outer middleware sees what they set even
    when a context variable set in between would not have propagated back (tasks, thread pools)."""

    scope: Scope | None = None
    user: str | None = None
    tenant: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def state(self) -> dict:
        return self.scope.get("state", {}) if self.scope is not None else {}

    def request_id(self) -> str | None:
        return self.state.get("request_id")

    def tenant_name(self) -> str | None:
        if self.tenant is not None:
            return self.tenant
        # The tenancy middleware keeps the resolved route (never a client header) in the scope's state.
        route = self.state.get("tenant")
        return getattr(route, "subdomain", None)

    def route(self) -> str | None:
        """The matched route's template; None before routing (or when nothing matched)."""
        return route_template(self.scope) if self.scope is not None else None

    def method(self) -> str | None:
        return self.scope.get("method") if self.scope is not None else None


def route_template(scope: Scope) -> str | None:
    """The template of the route that served ``scope`` ("/api/v1/products/{product_id}"), once routed; None
    when nothing matched (a 404). Bounded: one value per route, whatever the ids in the path."""
    route = scope.get("route")
    if route is not None:
        return getattr(route, "path_format", None) or getattr(route, "path", None)
    if "app_root_path" in scope:
        # FastAPI records no route for a mounted app (the /static files); the mount set root_path.
        root, base = scope.get("root_path") or "", scope["app_root_path"] or ""
        if root != base and root.startswith(base):
            return root[len(base):] + "/{path}"
    return None


_context: ContextVar[RequestContext | None] = ContextVar("polyflow_log_context", default=None)


def current_context() -> RequestContext | None:
    return _context.get()


def set_user(user: str | None) -> None:
    """Name the signed-in user of the current request in its log lines (an id: no e-mail addresses in logs)."""
    ctx = _context.get()
    if ctx is not None:
        ctx.user = user


def set_tenant(tenant: str | None) -> None:
    """Name the tenant of the current request (only needed where the tenancy middleware did not resolve it)."""
    ctx = _context.get()
    if ctx is not None:
        ctx.tenant = tenant


def bind(**fields: Any) -> None:
    """Add fields to every later line of the current request (e.g. a job id)."""
    ctx = _context.get()
    if ctx is not None:
        ctx.fields.update(fields)


def _request_id_now() -> str | None:
    rid = current_request_id()
    return None if rid == "-" else rid


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of one record: the base fields (context filled in), then any extras."""
    ctx = _context.get()
    out: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "level": record.levelname,
        "logger": record.name,
        "msg": record.getMessage(),
        "request_id": _request_id_now() or (ctx.request_id() if ctx else None),
        "tenant": ctx.tenant_name() if ctx else None,
        "user": ctx.user if ctx else None,
        "route": ctx.route() if ctx else None,
        "method": ctx.method() if ctx else None,
        "status": None,
        "duration_ms": None,
    }
    if ctx is not None and ctx.fields:
        out.update(ctx.fields)
    for key, value in vars(record).items():
        if key not in _RECORD_ATTRS and not key.startswith("_"):
            out[key] = value
    if record.exc_info and record.exc_info[0] is not None:
        out["exc"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
    elif record.exc_text:
        out["exc"] = record.exc_text
    if record.stack_info:
        out["stack"] = record.stack_info
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    """One JSON object per line (a trace is one string field, ``exc``): what a log shipper indexes."""

    def format(self, record: logging.LogRecord) -> str:
        data = record_fields(record)
        return json.dumps(data, default=_jsonable, ensure_ascii=False, separators=(", ", ": "))


class TextFormatter(logging.Formatter):
    """For a developer's terminal: ``time LEVEL logger [request tenant user] message key=value …`` and the trace."""

    def format(self, record: logging.LogRecord) -> str:
        data = record_fields(record)
        ts = datetime.fromtimestamp(record.created).strftime("%H:%M:%S.%f")[:-3]
        who = " ".join(str(data[k]) for k in ("request_id", "tenant", "user") if data.get(k))
        rest = {k: v for k, v in data.items() if k not in ("ts", "level", "logger", "msg", "request_id", "tenant",
                                                            "user", "exc", "stack") and v is not None}
        line = f"{ts} {data['level']:<7} {data['logger']}{f' [{who}]' if who else ''}: {data['msg']}"
        if rest:
            line += " " + " ".join(f"{k}={v}" for k, v in rest.items())
        if data.get("exc"):
            line += "\n" + data["exc"]
        if data.get("stack"):
            line += "\n" + data["stack"]
        return line


# -- set-up ------------------------------------------------------------------------------------------------
_HANDLER_MARK = "_polyflow_handler"


def log_format(settings) -> str:
    """json or text: POLYFLOW_LOG_FORMAT, else JSON in production and text in development and tests."""
    chosen = getattr(settings, "log_format", None)
    if chosen:
        return chosen
    return "json" if getattr(settings, "env", "production") == "production" else "text"


def configure_logging(settings=None, *, stream=None) -> logging.Handler:
    """Send every logger's lines (uvicorn's included) through one handler with our formatter.

    Replaces a handler installed by an earlier call (idempotent) and uvicorn's own handlers; leaves other
    handlers (a test's log capture) alone. uvicorn's access logger is switched off: `AccessLogMiddleware`
    writes the access line, with the tenant. Returns the handler."""
    global _summary_every
    fmt = log_format(settings)
    level = str(getattr(settings, "log_level", None) or "INFO").upper()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        # Ours from an earlier call, or a basicConfig() default stream handler: either would print twice.
        if getattr(old, _HANDLER_MARK, False) or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level, logging.INFO))
    for name in ("uvicorn", "uvicorn.error"):
        # uvicorn configured these with its own format before loading the app: route them through ours.
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
        lg.setLevel(logging.NOTSET)
    access = logging.getLogger("uvicorn.access")
    # No handler anywhere above it (propagate off): uvicorn then skips building its access line at all.
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    every = getattr(settings, "log_outage_summary_seconds", None)
    if every:
        _summary_every = float(every)
    return handler


# -- the access log ----------------------------------------------------------------------------------------
access_log = logging.getLogger(ACCESS_LOGGER)


class AccessLogMiddleware:
    """One line per request after the response went out: tenant, user, method, route template, path (without
    the query string: it can carry one-time tokens), status, duration, bytes sent, client address (trusted-proxy
    rules of kit.web.client_ip) and the request id. Also gives each request its `RequestContext`."""

    def __init__(self, app: ASGIApp, *, trusted_networks=()):
        self.app = app
        self.trusted = trusted_networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        ctx = RequestContext(scope)
        token = _context.set(ctx)
        started = time.perf_counter()
        status = 0
        sent = 0

        async def send_counting(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        except BaseException:
            status = status or 500
            raise
        finally:
            path = scope.get("path", "")
            level = logging.DEBUG if path in PROBE_PATHS else logging.INFO
            if access_log.isEnabledFor(level):
                route = ctx.route()
                access_log.log(level, "%s %s %s", scope.get("method"), route or path, status, extra={
                    "status": status, "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "path": path, "bytes": sent, "client_ip": client_ip(scope, self.trusted)})
            _context.reset(token)


# -- one trace per outage ----------------------------------------------------------------------------------
_summary_every = 60.0


class Outage:
    """The state of one kind of fault in this process (see the module docstring)."""

    def __init__(self, key: str, logger: logging.Logger, every: float | None = None):
        self.key = key
        self.logger = logger
        self.every = every
        self.active = False
        self.failures = 0  # in the current (or last) outage
        self.outages = 0
        self._since = 0.0
        self._reported_at = 0.0
        self._unreported = 0
        self._lock = threading.Lock()

    def failed(self, msg: str, *args: Any, exc: BaseException | None = None, level: int = logging.ERROR,
               extra: dict | None = None) -> bool:
        """Count a failure; log it with its trace if it starts an outage, else at most a periodic summary."""
        now = time.monotonic()
        every = self.every if self.every is not None else _summary_every
        with self._lock:
            first = not self.active
            if first:
                self.active, self.failures, self.outages = True, 0, self.outages + 1
                self._since = self._reported_at = now
                self._unreported = 0
            self.failures += 1
            self._unreported += 0 if first else 1
            summary = not first and now - self._reported_at >= every
            if summary:
                count, took = self._unreported, now - self._reported_at
                self._unreported, self._reported_at = 0, now
        fields = {"outage": self.key, **(extra or {})}
        key = repr(self.key).replace("%", "%%")  # goes into a %-format string
        if first:
            # The trace of the first failure only: it says what broke; the next ones would say the same.
            self.logger.log(level, f"{msg} (outage {key} begins; repeats are counted, not logged)", *args,
                            exc_info=exc if exc is not None else sys.exc_info()[0] is not None, extra=fields)
            return True
        if summary:
            err = (f": {type(exc).__name__}: {exc}" if exc is not None else "").replace("%", "%%")
            self.logger.log(level, f"{msg} (outage {key} goes on: {count} more failures in the last "
                                   f"{took:.0f} s, {self.failures} since it began {now - self._since:.0f} s ago){err}",
                            *args, extra={**fields, "failures": self.failures})
            return True
        return False

    def recovered(self, msg: str = "recovered") -> bool:
        """End the outage (one line: how long, how many failures); nothing when none is going on."""
        if not self.active:  # the common case, without the lock
            return False
        with self._lock:
            if not self.active:
                return False
            self.active = False
            took = time.monotonic() - self._since
        self.logger.warning("%s (outage %r over after %.1f s, %d failures)", msg, self.key, took, self.failures,
                            extra={"outage": self.key, "failures": self.failures, "outage_seconds": round(took, 1)})
        return True


_outages: dict[str, Outage] = {}
_outages_lock = threading.Lock()


def outage(key: str, logger: logging.Logger | None = None, *, every: float | None = None) -> Outage:
    """The process's `Outage` for ``key`` (made on first use with ``logger``; later calls reuse it)."""
    found = _outages.get(key)
    if found is None:
        with _outages_lock:
            found = _outages.get(key)
            if found is None:
                found = _outages[key] = Outage(key, logger or logging.getLogger("polyflow.outage"), every)
    return found
