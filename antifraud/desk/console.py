"""The running console: the view, Kafka, Redis stores and the clock, and the one way an action
is carried out (`act`): plan it on the current view, produce every record with acks=all, and
only then let the view reflect it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

import redis.asyncio as aioredis

from antifraud.contracts import AUDIT_TOPIC, ESCALATIONS_TOPIC, OUTCOMES_TOPIC, OutcomeCode
from antifraud.desk import authz
from antifraud.desk.actions import (
    Actor,
    OutcomeInput,
    Plan,
    audit,
    plan_claim,
    plan_release,
    plan_request_outcome,
    plan_task_outcome,
    plan_visit,
)
from antifraud.desk.areas import AreaDirectory, AreaStore
from antifraud.desk.authz import Denied
from antifraud.desk.bus import Broadcaster, KafkaBus
from antifraud.desk.config import Clock, DeskConfig
from antifraud.desk.projection import DeskState, EscalationView, RequestView, TaskView
from antifraud.desk.records import (
    AuditAction,
    AuditEntry,
    audit_dict,
    dumps,
    escalation_dict,
    outcome_dict,
    outcome_key,
)
from antifraud.desk.sessions import SessionStore
from antifraud.desk.users import UserStore

log = logging.getLogger(__name__)


class Console:
    def __init__(
        self,
        config: DeskConfig,
        clock: Clock,
        kafka_bootstrap: str,
        redis_url: str,
        redis_prefix: str,
    ) -> None:
        self.config = config
        self.clock = clock
        self.state = DeskState(config.claim_stale_s, config.audit_tail)
        self.broadcaster = Broadcaster()
        self.bus = KafkaBus(kafka_bootstrap, self.state, self.broadcaster)
        self.redis = aioredis.Redis.from_url(redis_url)
        self.users = UserStore(self.redis, redis_prefix)
        self.sessions = SessionStore(
            self.redis, redis_prefix, config.session_idle_s, config.session_max_s
        )
        self.areas = AreaStore(self.redis, redis_prefix)
        self.directory = AreaDirectory()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if self.config.demo:
            from antifraud.desk.demo import seed_demo

            await seed_demo(self.users, self.areas, self.clock())
        await self.refresh_directory()
        await self.bus.start()

    async def stop(self) -> None:
        self.broadcaster.close()
        await self.bus.stop()
        await self.redis.aclose()

    def now(self) -> float:
        return self.clock()

    @staticmethod
    def new_id(kind: str) -> str:
        return f"{kind}-{uuid.uuid4().hex}"

    async def refresh_directory(self) -> AreaDirectory:
        """The directory is maintained with the CLI; read it again before routing a visit."""
        self.directory = await self.areas.load()
        return self.directory

    async def act(self, planner: Callable[[float], Plan]) -> Plan:
        """Plan and record one action; actions are serialized so two operators cannot both
        win the same claim on this console."""
        async with self._lock:
            plan = planner(self.now())
            await self.commit(plan)
            return plan

    # --- the human actions: one place each, for the pages and the API alike ----------------
    async def claim(self, actor: Actor, task_id: str) -> Plan:
        return await self.act(lambda now: plan_claim(self.state, actor, task_id, now, self.new_id))

    async def release(self, actor: Actor, task_id: str) -> Plan:
        return await self.act(
            lambda now: plan_release(self.state, actor, task_id, now, self.new_id)
        )

    async def task_outcome(self, actor: Actor, task_id: str, submitted: OutcomeInput) -> Plan:
        if submitted.outcome is OutcomeCode.UNREACHABLE_ESCALATED:
            await self.refresh_directory()
        return await self.act(
            lambda now: plan_task_outcome(
                self.state,
                actor,
                task_id,
                submitted,
                now,
                directory=self.directory,
                config=self.config,
                new_id=self.new_id,
            )
        )

    async def request_outcome(self, actor: Actor, request_id: str, submitted: OutcomeInput) -> Plan:
        return await self.act(
            lambda now: plan_request_outcome(
                self.state, actor, request_id, submitted, now, self.config, self.new_id
            )
        )

    async def visit(self, actor: Actor, escalation_id: str, submitted: OutcomeInput) -> Plan:
        return await self.act(
            lambda now: plan_visit(self.state, actor, escalation_id, submitted, now, self.new_id)
        )

    # --- the views of personal data: authorized and audited in one place each ----------------
    async def open_task(self, actor: Actor, task_id: str, now: float) -> tuple[TaskView, bool]:
        """The task, and whether this actor sees the victim's full number (only its holder)."""
        authz.check_read_tasks(actor.user)
        view = self.state.task_view(task_id, now)
        if view is None:
            raise Denied(404, "no such task")
        holder = view.claim.holder if view.claim else None
        full = authz.sees_full_victim_number(actor.user, holder)
        action = AuditAction.VIEW_TASK_FULL if full else AuditAction.VIEW_TASK
        await self.record_audit(audit(actor, self.new_id, now, action, "task", task_id))
        return view, full

    async def open_request(
        self, actor: Actor, request_id: str, now: float
    ) -> tuple[RequestView, bool]:
        """The request, and whether this actor sees the full account (only the request's bank)."""
        stop = authz.check_read_request(actor.user, self.state.requests.get(request_id))
        view = self.state.request_view(request_id, now)
        if view is None:
            raise Denied(404, "no such request")
        full = authz.sees_full_account(actor.user, stop)
        action = AuditAction.VIEW_REQUEST_FULL if full else AuditAction.VIEW_REQUEST
        await self.record_audit(audit(actor, self.new_id, now, action, "request", request_id))
        return view, full

    async def open_escalation(
        self, actor: Actor, escalation_id: str, now: float
    ) -> tuple[EscalationView, bool]:
        """The escalation, and whether this actor sees the full number (the area's officers)."""
        escalation = authz.check_read_escalation(
            actor.user, self.state.escalations.get(escalation_id)
        )
        view = self.state.escalation_view(escalation_id)
        if view is None:
            raise Denied(404, "no such escalation")
        full = authz.sees_full_number_on_escalation(actor.user, escalation)
        action = AuditAction.VIEW_ESCALATION_FULL if full else AuditAction.VIEW_ESCALATION
        await self.record_audit(audit(actor, self.new_id, now, action, "escalation", escalation_id))
        return view, full

    async def commit(self, plan: Plan) -> None:
        """Audit first (so no change is ever unaudited), then escalations, then outcomes; the
        view reflects them only after Kafka has acknowledged all of them."""
        for entry in plan.audit:
            await self.bus.produce(AUDIT_TOPIC, entry.subject_id, dumps(audit_dict(entry)))
        for escalation in plan.escalations:
            await self.bus.produce(
                ESCALATIONS_TOPIC, escalation.area, dumps(escalation_dict(escalation))
            )
        for outcome in plan.outcomes:
            await self.bus.produce(
                OUTCOMES_TOPIC, outcome_key(outcome), dumps(outcome_dict(outcome))
            )
        changes = [self.state.apply_audit(entry) for entry in plan.audit]
        changes += [self.state.apply_escalation(escalation) for escalation in plan.escalations]
        changes += [self.state.apply_outcome(outcome) for outcome in plan.outcomes]
        for change in changes:
            if change is not None:
                self.broadcaster.publish(change)

    async def record_audit(self, entry: AuditEntry) -> None:
        """A view of personal data or a session event: on Kafka before the page is served."""
        await self.commit(Plan(audit=(entry,)))
