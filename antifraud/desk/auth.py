"""Who is asking: a session cookie (browsers) or a bearer token (a bank's own system), and the
CSRF check every state change made with a cookie must pass.

Bearer-token calls need no CSRF token: a browser never attaches the token by itself.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from antifraud.desk.actions import Actor
from antifraud.desk.authz import Denied, User
from antifraud.desk.console import Console
from antifraud.desk.sessions import Session

SESSION_COOKIE = "afdesk_session"
LOGIN_CSRF_COOKIE = "afdesk_login"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
BACKGROUND_HEADER = "x-desk-background"  # set by the page's own live refreshes


class LoginRequired(Exception):
    """No valid session or token: pages redirect to the login page, the API answers 401."""


@dataclass(frozen=True, slots=True)
class AuthContext:
    user: User
    session: Session | None  # None for bearer-token calls
    session_id: str | None
    via: str  # page | api

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token if self.session else ""


def get_console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def is_background(request: Request) -> bool:
    return request.headers.get(BACKGROUND_HEADER) == "1"


async def authenticate(request: Request, console: Console, via: str) -> AuthContext | None:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        user = await console.users.user_for_token(token.strip())
        return AuthContext(user, None, None, "api") if user is not None else None
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    session = await console.sessions.load(
        session_id, console.now(), touch=not is_background(request)
    )
    if session is None:
        return None
    stored = await console.users.get(session.username)
    if stored is None or stored.user.disabled:
        await console.sessions.delete(session_id)
        return None
    return AuthContext(stored.user, session, session_id, via)


async def page_user(request: Request) -> AuthContext:
    context = await authenticate(request, get_console(request), "page")
    if context is None:
        raise LoginRequired()
    return context


async def api_user(request: Request) -> AuthContext:
    context = await authenticate(request, get_console(request), "api")
    if context is None:
        raise LoginRequired()
    return context


PageUser = Annotated[AuthContext, Depends(page_user)]
ApiUser = Annotated[AuthContext, Depends(api_user)]
ConsoleDep = Annotated[Console, Depends(get_console)]


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(expected, str(given))


async def check_csrf(request: Request, context: AuthContext) -> None:
    """A cookie-authenticated state change must carry the session's CSRF token (form field or
    `X-CSRF-Token` header)."""
    if context.session is None:
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not tokens_match(context.session.csrf_token, given):
        raise Denied(403, "CSRF token missing or wrong; reload the page and try again")


def actor_of(request: Request, context: AuthContext) -> Actor:
    return Actor(context.user, client_ip(request), context.via)
