"""The server-rendered pages. Handlers are thin: authenticate, ask `authz`/`actions`, produce
through the console, render. Every state change is a POST with the session's CSRF token, and
answers with a redirect (so a reload never repeats it)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from antifraud.contracts import OutcomeCode
from antifraud.desk import authz, metrics
from antifraud.desk.actions import (
    audit,
    parse_input,
)
from antifraud.desk.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleDep,
    PageUser,
    actor_of,
    check_csrf,
    client_ip,
    tokens_match,
)
from antifraud.desk.authz import Denied
from antifraud.desk.dashboard import charts
from antifraud.desk.passwords import DUMMY_HASH, new_secret, verify_password
from antifraud.desk.projection import TaskStatus
from antifraud.desk.records import AuditAction, AuditEntry
from antifraud.desk.texts import BANK_OUTCOMES, DESK_OUTCOMES, VISIT_OUTCOMES, script_for
from antifraud.desk.web import render

router = APIRouter(include_in_schema=False)

OptionalField = Annotated[str | None, Form()]


def _safe_next(target: str | None) -> str | None:
    """Only a path on this console (no `//host`, no scheme) may follow a login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- login ------------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    token = new_secret()
    response = render(request, "login.html", None, next=_safe_next(next) or "", login_csrf=token)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=1800,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.app.state.config.cookie_secure,
    )
    return response


@router.post("/login")
async def login(
    request: Request,
    console: ConsoleDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        raise Denied(403, "the login form expired; reload the page and try again")
    config = console.config
    name = username.strip().lower()[:64]
    now = console.now()

    async def refuse(reason: str, detail: str) -> Response:
        await console.record_audit(
            AuditEntry(
                console.new_id("aud"),
                now,
                name or "-",
                "",
                AuditAction.LOGIN_FAILED,
                "user",
                name or "-",
                client_ip(request),
                "page",
                detail,
            )
        )
        token = new_secret()
        response = render(
            request,
            "login.html",
            None,
            401,
            next=_safe_next(next) or "",
            login_csrf=token,
            error=reason,
            username=name,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            max_age=1800,
            path="/login",
            httponly=True,
            samesite="strict",
            secure=config.cookie_secure,
        )
        return response

    if await console.users.failures(name) >= config.login_max_failures:
        return await refuse(
            "账户已暂时锁定，请稍后再试 / Too many failed attempts; try again later", "locked"
        )
    stored = await console.users.get(name)
    valid = await asyncio.to_thread(
        verify_password, password, stored.password_hash if stored else DUMMY_HASH
    )
    if stored is None or not valid or stored.user.disabled:
        await console.users.record_failure(name, config.login_lockout_s)
        return await refuse("用户名或密码错误 / Wrong user name or password", "bad credentials")
    await console.users.clear_failures(name)
    session_id, _ = await console.sessions.create(name, now)
    await console.record_audit(
        AuditEntry(
            console.new_id("aud"),
            now,
            name,
            stored.user.role.value,
            AuditAction.LOGIN,
            "session",
            name,
            client_ip(request),
            "page",
        )
    )
    response = _see_other(_safe_next(next) or authz.home_path(stored.user))
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        path="/",
        httponly=True,
        samesite="strict",
        secure=config.cookie_secure,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, context: PageUser, console: ConsoleDep) -> Response:
    await check_csrf(request, context)
    if context.session_id:
        await console.sessions.delete(context.session_id)
    actor = actor_of(request, context)
    await console.record_audit(
        audit(
            actor,
            console.new_id,
            console.now(),
            AuditAction.LOGOUT,
            "session",
            context.user.username,
        )
    )
    response = _see_other("/login?msg=logged_out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
async def home(context: PageUser) -> Response:
    return _see_other(authz.home_path(context.user))


# --- 96110 desk -------------------------------------------------------------------------------


@router.get("/desk")
async def desk(
    request: Request, context: PageUser, console: ConsoleDep, partial: str | None = None
) -> HTMLResponse:
    authz.check_read_tasks(context.user)
    now = console.now()
    views = console.state.task_views(now)
    queue = sorted((v for v in views if v.status is TaskStatus.OPEN), key=lambda v: v.queue_key())
    mine = [v for v in queue if v.claim and v.claim.holder == context.user.username]
    escalated = sorted(
        (v for v in views if v.status is TaskStatus.ESCALATED),
        key=lambda v: -(v.outcomes[-1].ts if v.outcomes else 0.0),
    )[:12]
    closed = sorted(
        (v for v in views if v.status is TaskStatus.CLOSED),
        key=lambda v: -(v.outcomes[-1].ts if v.outcomes else 0.0),
    )[:12]
    return render(
        request,
        "_desk_queue.html" if partial else "desk.html",
        context,
        queue=queue,
        mine=mine,
        escalated=escalated,
        closed=closed,
        escalations=console.state.escalations,
        overdue=sum(1 for v in queue if metrics.task_breached(v, now)),
    )


@router.get("/desk/tasks/{task_id}")
async def task_page(
    request: Request, task_id: str, context: PageUser, console: ConsoleDep
) -> HTMLResponse:
    now = console.now()
    view, full = await console.open_task(actor_of(request, context), task_id, now)
    timeline: list[tuple[float, str, object]] = [(c.start_ts, "call", c) for c in view.task.calls]
    timeline += [(t.ts, "transfer", t) for t in view.task.transfers]
    timeline.sort(key=lambda item: item[0])
    requests = [console.state.request_view(r, now) for r in view.request_ids]
    escalations = [console.state.escalation_view(e) for e in view.escalation_ids]
    return render(
        request,
        "task.html",
        context,
        view=view,
        task=view.task,
        full=full,
        holder=view.claim.holder if view.claim else None,
        timeline=timeline,
        requests=[r for r in requests if r is not None],
        escalations=[e for e in escalations if e is not None],
        script=script_for(view.task.scenario),
        outcomes=DESK_OUTCOMES,
        breached=metrics.task_breached(view, now),
    )


@router.post("/desk/tasks/{task_id}/claim")
async def claim(request: Request, task_id: str, context: PageUser, console: ConsoleDep) -> Response:
    await check_csrf(request, context)
    actor = actor_of(request, context)
    plan = await console.claim(actor, task_id)
    return _see_other(f"/desk/tasks/{task_id}?msg={plan.message}")


@router.post("/desk/tasks/{task_id}/release")
async def release(
    request: Request, task_id: str, context: PageUser, console: ConsoleDep
) -> Response:
    await check_csrf(request, context)
    actor = actor_of(request, context)
    await console.release(actor, task_id)
    return _see_other("/desk?msg=released")


@router.post("/desk/tasks/{task_id}/outcome")
async def task_outcome(
    request: Request,
    task_id: str,
    context: PageUser,
    console: ConsoleDep,
    outcome: Annotated[str, Form()] = "",
    amount: OptionalField = None,
    note: OptionalField = None,
) -> Response:
    await check_csrf(request, context)
    actor = actor_of(request, context)
    submitted = parse_input(outcome, amount=amount, note=note)
    plan = await console.task_outcome(actor, task_id, submitted)
    return _see_other(f"/desk?msg={plan.message}")


# --- banks ------------------------------------------------------------------------------------


@router.get("/bank")
async def bank(
    request: Request, context: PageUser, console: ConsoleDep, partial: str | None = None
) -> HTMLResponse:
    authz.check_read_requests(context.user)
    now = console.now()
    views = [
        v
        for v in console.state.request_views(now)
        if authz.request_visible(context.user, v.request)
    ]
    return render(
        request,
        "_bank_queue.html" if partial else "bank.html",
        context,
        todo=[v for v in views if v.open],
        holding=[v for v in views if v.status in ("held", "hold_expired")],
        done=[v for v in views if not v.open and v.status not in ("held", "hold_expired")][:20],
        overdue=sum(1 for v in views if v.open and metrics.request_breached(v, now)),
    )


@router.get("/bank/requests/{request_id}")
async def request_page(
    request: Request, request_id: str, context: PageUser, console: ConsoleDep
) -> HTMLResponse:
    now = console.now()
    view, full = await console.open_request(actor_of(request, context), request_id, now)
    return render(
        request,
        "request.html",
        context,
        view=view,
        req=view.request,
        full=full,
        outcomes=BANK_OUTCOMES,
        can_work=context.user.role is authz.Role.BANK_LIAISON,
        hold_hours=int(console.config.hold_s // 3600),
        breached=metrics.request_breached(view, now),
    )


@router.post("/bank/requests/{request_id}/outcome")
async def request_outcome(
    request: Request,
    request_id: str,
    context: PageUser,
    console: ConsoleDep,
    outcome: Annotated[str, Form()] = "",
    amount: OptionalField = None,
    hold_hours: OptionalField = None,
    note: OptionalField = None,
) -> Response:
    await check_csrf(request, context)
    actor = actor_of(request, context)
    authz.check_work_request(context.user, console.state.requests.get(request_id))
    until: float | None = None
    if hold_hours and hold_hours.strip():
        try:
            hours = float(hold_hours)
        except ValueError:
            raise Denied(422, "hold_hours: a number of hours") from None
        view = console.state.request_view(request_id, console.now())
        base = view.held_until_ts if view and outcome == OutcomeCode.RENEWED.value else None
        until = (base or console.now()) + hours * 3600
    submitted = parse_input(outcome, amount=amount, held_until_ts=until, note=note)
    plan = await console.request_outcome(actor, request_id, submitted)
    return _see_other(f"/bank/requests/{request_id}?msg={plan.message}")


# --- stations and grids -----------------------------------------------------------------------


@router.get("/station")
async def station(
    request: Request, context: PageUser, console: ConsoleDep, partial: str | None = None
) -> HTMLResponse:
    authz.check_read_escalations(context.user)
    now = console.now()
    views = [
        v
        for v in console.state.escalation_views()
        if authz.escalation_visible(context.user, v.escalation)
    ]
    return render(
        request,
        "_station_queue.html" if partial else "station.html",
        context,
        todo=[v for v in views if v.visit is None],
        done=[v for v in views if v.visit is not None][:20],
        now=now,
    )


@router.get("/station/escalations/{escalation_id}")
async def escalation_page(
    request: Request, escalation_id: str, context: PageUser, console: ConsoleDep
) -> HTMLResponse:
    view, full = await console.open_escalation(
        actor_of(request, context), escalation_id, console.now()
    )
    return render(
        request,
        "escalation.html",
        context,
        view=view,
        esc=view.escalation,
        full=full,
        outcomes=VISIT_OUTCOMES,
        can_work=context.user.role is authz.Role.STATION_OFFICER,
        script=script_for(view.escalation.scenario),
    )


@router.post("/station/escalations/{escalation_id}/visit")
async def visit(
    request: Request,
    escalation_id: str,
    context: PageUser,
    console: ConsoleDep,
    outcome: Annotated[str, Form()] = "",
    amount: OptionalField = None,
    note: OptionalField = None,
) -> Response:
    await check_csrf(request, context)
    actor = actor_of(request, context)
    submitted = parse_input(outcome, amount=amount, note=note)
    plan = await console.visit(actor, escalation_id, submitted)
    return _see_other(f"/station/escalations/{escalation_id}?msg={plan.message}")


# --- oversight --------------------------------------------------------------------------------


@router.get("/supervisor")
async def supervisor(
    request: Request,
    context: PageUser,
    console: ConsoleDep,
    window: str = "today",
    partial: str | None = None,
) -> HTMLResponse:
    authz.check_read_metrics(context.user)
    now = console.now()
    try:
        span = metrics.window_for(window, now, console.config.utc_offset_h)
    except ValueError as error:
        raise Denied(422, str(error)) from None
    figures = metrics.compute(console.state, span, now, console.directory)
    return render(
        request,
        "_figures.html" if partial else "supervisor.html",
        context,
        figures=figures,
        charts=charts(figures),
        window=window,
    )


@router.get("/audit")
async def audit_page(
    request: Request, context: PageUser, console: ConsoleDep, actor: str | None = None
) -> HTMLResponse:
    authz.check_read_audit(context.user)
    entries = list(reversed(console.state.audit_tail.values()))
    if actor:
        entries = [e for e in entries if e.actor == actor]
    return render(request, "audit.html", context, entries=entries[:300], actor=actor or "")
