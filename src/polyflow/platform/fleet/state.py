"""The shapes of a fleet migration run, shared by the in-process runner and the job queue (neither imports
the other for them): the options, the progress callbacks, the report, and the rollout's running state."""

from __future__ import annotations

from dataclasses import dataclass, field

from polyflow.platform.fleet.tenant import Outcome


@dataclass
class RunOptions:
    concurrency: int | None = None  # None: default_concurrency
    canary: int | list[str] | None = None  # first N tenants to work on, or these subdomains
    max_failures: int | None = None  # halt after this many failures
    only: list[str] | None = None  # just these subdomains
    retry_failed: bool = False  # resume: failed or still-behind tenants only, no canary phase
    verify: bool = False  # read alembic_version everywhere first, repair the registry
    via_jobs: bool = False  # one durable job per tenant instead of local worker processes
    wait: bool = True  # with via_jobs: follow the jobs until every tenant is done
    refresh_templates: bool = True  # rebuild the onboarding template + spares for the head
    actor: str = "cli"

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, False, [], "") and k != "actor"}


class Progress:
    """Callbacks for a run's progress (the CLI draws a bar; the default does nothing)."""

    def start(self, *, work: int, skipped: int, run_id: int | None) -> None:
        pass

    def tenant_done(self, outcome: Outcome) -> None:
        pass

    def note(self, message: str) -> None:
        pass

    def finished(self) -> None:
        """Every tenant is done (the template rebuild follows)."""


@dataclass
class RunReport:
    run_id: int | None
    target: str
    status: str  # completed | failed | halted | queued
    tenants: int  # tenants with a schema in scope
    at_target: int  # skipped from the registry, no connection
    ahead: int  # at a revision only newer code knows, no connection
    outcomes: list[Outcome] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)
    halt_reason: str | None = None
    repaired: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    concurrency: int = 1  # worker processes; 0: via jobs
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    main_revision: str | None = None

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.left_behind and self.status != "halted"

    def summary(self) -> dict:
        return {"tenants": self.tenants, "at_target": self.at_target, "ahead": self.ahead,
                "migrated": self.count("migrated"), "skipped": self.count("skipped"),
                "failed": len(self.failed), "left_behind": len(self.left_behind),
                "seconds": round(self.seconds, 3), "concurrency": self.concurrency}

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "main": self.main_revision, "target": self.target, "status": self.status,
                **self.summary(), "halt_reason": self.halt_reason,
                "repaired": [{"subdomain": s, "registry": a, "actual": b} for s, a, b in self.repaired],
                "left_behind_tenants": self.left_behind, "warnings": self.warnings,
                "tenants_attempted": [o.as_dict() for o in self.outcomes]}


@dataclass
class RolloutState:
    """What a rollout has seen so far: the outcomes and whether it must halt (shared by the runner and the job
    queue)."""

    max_failures: int | None
    outcomes: list[Outcome] = field(default_factory=list)
    halt_reason: str | None = None

    @property
    def failures(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "failed")

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if (outcome.status == "failed" and self.max_failures and self.failures >= self.max_failures
                and self.halt_reason is None):
            self.halt_reason = f"halted after {self.failures} failed tenant(s) (--max-failures {self.max_failures})"
