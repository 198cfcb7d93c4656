"""Page rendering: the Jinja environment (autoescaped) and the filters that format times in the
center's local time, money as CNY, numbers masked, and codes as Chinese / English labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from antifraud.contracts import OutcomeCode
from antifraud.decode import format_fen
from antifraud.desk.auth import AuthContext
from antifraud.desk.authz import ROLE_TEXT, Role
from antifraud.desk.texts import KIND_TEXT, OUTCOME_TEXT, STATUS_TEXT, scenario_text
from antifraud.masking import mask_account, mask_phone, redact_numbers

MESSAGES = {
    "claimed": ("已认领，请立即拨打", "Claimed: call now"),
    "claim_renewed": ("认领已延长", "Claim renewed"),
    "released": ("已放回队列", "Released to the queue"),
    "already_recorded": ("该结果已记录", "That outcome was already recorded"),
    "logged_out": ("已退出", "Signed out"),
    "expired": ("会话已超时，请重新登录", "Your session expired; please sign in again"),
}


def money(fen: int | None) -> str:
    if fen is None:
        return "—"
    whole, cents = format_fen(fen).split(".")
    return f"{int(whole):,}.{cents}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = max(0, round(seconds))
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def label(pair: tuple[str, str] | None, fallback: str) -> str:
    return f"{pair[0]} / {pair[1]}" if pair else fallback


def build_templates(utc_offset_h: int) -> Jinja2Templates:
    zone = timezone(timedelta(hours=utc_offset_h))

    def local(ts: float | None, fmt: str = "%H:%M:%S") -> str:
        if ts is None:
            return "—"
        return datetime.fromtimestamp(ts, UTC).astimezone(zone).strftime(fmt)

    env = Environment(
        loader=PackageLoader("antifraud.desk", "templates"),
        autoescape=select_autoescape(("html",)),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        time=local,
        datetime=lambda ts: local(ts, "%m-%d %H:%M"),
        money=money,
        percent=percent,
        duration=duration,
        phone=mask_phone,
        account=mask_account,
        redact=redact_numbers,
        outcome=lambda code: label(OUTCOME_TEXT.get(OutcomeCode(code)), str(code)),
        outcome_zh=lambda code: OUTCOME_TEXT[OutcomeCode(code)][0],
        outcome_en=lambda code: OUTCOME_TEXT[OutcomeCode(code)][1],
        status=lambda code: label(STATUS_TEXT.get(str(code)), str(code)),
        kind=lambda code: label(KIND_TEXT.get(str(code)), str(code)),
        scenario=scenario_text,
    )
    env.globals.update(ROLE_TEXT=ROLE_TEXT, Role=Role)
    return Jinja2Templates(env=env)


def render(
    request: Request,
    name: str,
    context: AuthContext | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    console = request.app.state.console
    msg = request.query_params.get("msg", "")
    code = _code(msg)
    values.setdefault("flash", MESSAGES.get(msg) or (OUTCOME_TEXT.get(code) if code else None))
    response = templates.TemplateResponse(
        request,
        name,
        {
            "auth": context,
            "user": context.user if context else None,
            "now": console.now(),
            **values,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _code(value: str) -> OutcomeCode | None:
    try:
        return OutcomeCode(value)
    except ValueError:
        return None
