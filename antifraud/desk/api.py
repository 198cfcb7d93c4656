"""The JSON API under `/api/v1`, for a bank's own system (bearer token) and the pages' scripts
(session cookie + `X-CSRF-Token`). Same rules as the pages: `authz` decides, `actions` plans,
the console produces to Kafka before answering."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from antifraud.desk import authz, metrics, schemas
from antifraud.desk.actions import (
    Plan,
    parse_input,
)
from antifraud.desk.auth import ApiUser, AuthContext, ConsoleDep, actor_of, check_csrf
from antifraud.desk.authz import Denied
from antifraud.desk.console import Console

router = APIRouter(prefix="/api/v1", tags=["console"])

DENIALS: dict[int | str, dict[str, str]] = {
    401: {"description": "no valid session or token"},
    403: {"description": "your role may not do this, or the CSRF token is missing or wrong"},
    404: {"description": "no such subject, or not one of yours"},
}
CHANGES: dict[int | str, dict[str, str]] = {
    **DENIALS,
    409: {"description": "the subject's state does not allow it (claimed by another, closed)"},
    422: {"description": "invalid input"},
    503: {"description": "Kafka did not acknowledge; nothing was recorded"},
}


def _result(plan: Plan) -> schemas.ActionResult:
    recorded = plan.already_recorded is None
    outcome = plan.outcomes[0] if plan.outcomes else plan.already_recorded
    return schemas.ActionResult(
        recorded=recorded,
        message=plan.message,
        outcome=schemas.outcome_out(outcome) if outcome else None,
        escalation_id=plan.escalations[0].escalation_id if plan.escalations else None,
    )


@router.get("/me", responses=DENIALS)
async def me(context: ApiUser) -> schemas.Me:
    """Who you are; with a session cookie, also the CSRF token to send on POSTs."""
    user = context.user
    return schemas.Me(
        username=user.username,
        role=user.role.value,
        display_name=user.display_name,
        bank=user.bank,
        areas=list(user.areas),
        csrf_token=context.csrf_token or None,
    )


# --- tasks ------------------------------------------------------------------------------------


@router.get("/tasks", responses=DENIALS)
async def list_tasks(
    context: ApiUser, console: ConsoleDep, status: str = "open"
) -> list[schemas.TaskSummary]:
    """Tasks in queue order (open), or all of a status; numbers masked."""
    authz.check_read_tasks(context.user)
    now = console.now()
    if status == "open":
        views = console.state.desk_queue(now)
    else:
        views = [v for v in console.state.task_views(now) if v.status.value == status]
    return [schemas.task_summary(view) for view in views]


@router.get("/tasks/{task_id}", responses=DENIALS)
async def get_task(
    request: Request, task_id: str, context: ApiUser, console: ConsoleDep
) -> schemas.TaskDetail:
    """One task with its evidence; the victim's number in full only for the holder (audited)."""
    view, full = await console.open_task(actor_of(request, context), task_id, console.now())
    return schemas.task_detail(view, full)


async def _claim_result(console: Console, task_id: str) -> schemas.ClaimResult:
    view = console.state.task_view(task_id, console.now())
    claim = view.claim if view else None
    return schemas.ClaimResult(
        task_id=task_id,
        claim=schemas.ClaimOut(
            holder=claim.holder, since_ts=claim.since_ts, expires_ts=claim.expires_ts
        )
        if claim
        else None,
    )


@router.post("/tasks/{task_id}/claim", responses=CHANGES)
async def claim_task(
    request: Request, task_id: str, context: ApiUser, console: ConsoleDep
) -> schemas.ClaimResult:
    """Take the task (or renew your claim). One holder at a time; a stale claim can be taken."""
    await check_csrf(request, context)
    actor = actor_of(request, context)
    await console.claim(actor, task_id)
    return await _claim_result(console, task_id)


@router.post("/tasks/{task_id}/release", responses=CHANGES)
async def release_task(
    request: Request, task_id: str, context: ApiUser, console: ConsoleDep
) -> schemas.ClaimResult:
    """Give the task back to the queue (the holder; a supervisor may release any claim)."""
    await check_csrf(request, context)
    actor = actor_of(request, context)
    await console.release(actor, task_id)
    return await _claim_result(console, task_id)


@router.post("/tasks/{task_id}/outcomes", responses=CHANGES)
async def record_task_outcome(
    request: Request,
    task_id: str,
    body: schemas.TaskOutcomeIn,
    context: ApiUser,
    console: ConsoleDep,
) -> schemas.ActionResult:
    """Record an attempt on a task you hold; `unreachable_escalated` creates the escalation."""
    await check_csrf(request, context)
    actor = actor_of(request, context)
    submitted = parse_input(
        body.outcome, amount=body.amount, note=body.note, outcome_id=body.outcome_id
    )
    plan = await console.task_outcome(actor, task_id, submitted)
    return _result(plan)


# --- requests ---------------------------------------------------------------------------------


@router.get("/requests", responses=DENIALS)
async def list_requests(
    context: ApiUser, console: ConsoleDep, status: str | None = None
) -> list[schemas.RequestSummary]:
    """Your bank's stop-payment and freeze requests (a supervisor sees all); accounts masked."""
    authz.check_read_requests(context.user)
    views = [
        view
        for view in console.state.request_views(console.now())
        if authz.request_visible(context.user, view.request)
        and (status is None or view.status == status)
    ]
    return [schemas.request_summary(view) for view in views]


@router.get("/requests/{request_id}", responses=DENIALS)
async def get_request(
    request: Request, request_id: str, context: ApiUser, console: ConsoleDep
) -> schemas.RequestDetail:
    """One request; the full account for the request's bank (audited)."""
    actor = actor_of(request, context)
    view, full = await console.open_request(actor, request_id, console.now())
    return schemas.request_detail(view, full)


@router.post("/requests/{request_id}/outcomes", responses=CHANGES)
async def record_request_outcome(
    request: Request,
    request_id: str,
    body: schemas.RequestOutcomeIn,
    context: ApiUser,
    console: ConsoleDep,
) -> schemas.ActionResult:
    """Acknowledge, or record held / renewed / funds gone / account not found / rejected."""
    await check_csrf(request, context)
    actor = actor_of(request, context)
    submitted = parse_input(
        body.outcome,
        amount=body.amount,
        held_until_ts=body.held_until_ts,
        note=body.note,
        outcome_id=body.outcome_id,
    )
    plan = await console.request_outcome(actor, request_id, submitted)
    return _result(plan)


# --- escalations ------------------------------------------------------------------------------


@router.get("/escalations", responses=DENIALS)
async def list_escalations(
    context: ApiUser, console: ConsoleDep
) -> list[schemas.EscalationSummary]:
    """Escalations for your areas (a supervisor sees all), open first; numbers masked."""
    authz.check_read_escalations(context.user)
    return [
        schemas.escalation_summary(view)
        for view in console.state.escalation_views()
        if authz.escalation_visible(context.user, view.escalation)
    ]


@router.get("/escalations/{escalation_id}", responses=DENIALS)
async def get_escalation(
    request: Request, escalation_id: str, context: ApiUser, console: ConsoleDep
) -> schemas.EscalationDetail:
    """One escalation with the task's evidence; the full number for the area's officers."""
    now = console.now()
    view, full = await console.open_escalation(actor_of(request, context), escalation_id, now)
    task_view = console.state.task_view(view.escalation.task_id, now)
    return schemas.escalation_detail(view, task_view, full)


@router.post("/escalations/{escalation_id}/visits", responses=CHANGES)
async def record_visit(
    request: Request,
    escalation_id: str,
    body: schemas.VisitIn,
    context: ApiUser,
    console: ConsoleDep,
) -> schemas.ActionResult:
    """Record the door visit; it closes the victim's task."""
    await check_csrf(request, context)
    actor = actor_of(request, context)
    submitted = parse_input(
        body.outcome, amount=body.amount, note=body.note, outcome_id=body.outcome_id
    )
    plan = await console.visit(actor, escalation_id, submitted)
    return _result(plan)


# --- oversight --------------------------------------------------------------------------------


@router.get("/metrics", responses={**DENIALS, 422: {"description": "unknown window"}})
async def get_metrics(
    context: ApiUser, console: ConsoleDep, window: str = "today"
) -> schemas.MetricsOut:
    """The supervisors' figures for `today` or `7d` (definitions in docs/console.md)."""
    authz.check_read_metrics(context.user)
    now = console.now()
    try:
        span = metrics.window_for(window, now, console.config.utc_offset_h)
    except ValueError as error:
        raise Denied(422, str(error)) from None
    return schemas.metrics_out(metrics.compute(console.state, span, now, console.directory))


@router.get("/audit", responses=DENIALS)
async def get_audit(
    context: ApiUser, console: ConsoleDep, limit: int = 200
) -> list[schemas.AuditOut]:
    """The most recent audit entries this console has seen (the full trail is `jocc.audit`)."""
    authz.check_read_audit(context.user)
    entries = list(reversed(console.state.audit_tail.values()))[: max(1, min(limit, 2000))]
    return [
        schemas.AuditOut(
            audit_id=e.audit_id,
            ts=e.ts,
            actor=e.actor,
            role=e.role,
            action=e.action.value,
            subject=e.subject,
            subject_id=e.subject_id,
            ip=e.ip,
            via=e.via,
            detail=e.detail,
        )
        for e in entries
    ]


# --- live updates -----------------------------------------------------------------------------


@router.get(
    "/stream",
    responses={**DENIALS, 200: {"content": {"text/event-stream": {}}}},
    response_class=StreamingResponse,
)
async def stream(request: Request, context: ApiUser, console: ConsoleDep) -> StreamingResponse:
    """Server-Sent Events: `change` notices (`kind`, `id`) for what you may see; no numbers."""
    return StreamingResponse(
        _events(request, context, console),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request, context: AuthContext, console: Console, keepalive_s: float = 15.0
) -> AsyncIterator[bytes]:
    queue = console.broadcaster.subscribe()
    try:
        yield b"retry: 3000\nevent: hello\ndata: {}\n\n"
        while True:
            try:
                change = await asyncio.wait_for(queue.get(), keepalive_s)
            except TimeoutError:
                if context.session_id is not None:
                    alive = await console.sessions.load(
                        context.session_id, console.now(), touch=False
                    )
                    if alive is None:
                        yield b"event: expired\ndata: {}\n\n"
                        return
                yield b": keep-alive\n\n"
                continue
            if change is None:
                return
            if change.kind == "resync" or authz.change_visible(
                context.user, change.kind, change.bank, change.area
            ):
                data = orjson.dumps({"kind": change.kind, "id": change.subject_id})
                yield b"event: change\ndata: " + data + b"\n\n"
    finally:
        console.broadcaster.unsubscribe(queue)
