"""The console's knobs, taken from the one settings object, and the clock it reads time from.

The console reads time only through a `Clock`, so claims, sessions and SLAs are testable with a
fake clock. `Settings` may not carry the `desk_*` fields yet; until it does, the defaults below
apply (they are the documented defaults of those fields).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from antifraud.settings import Settings

Clock = Callable[[], float]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class DeskConfig:
    """What the console needs to know beyond where Kafka and Redis are."""

    claim_stale_s: float = 300.0  # a claim not renewed for this long returns to the queue
    session_idle_s: float = 900.0  # a session unused for this long is gone
    session_max_s: float = 12 * 3600.0  # a session is never older than this
    cookie_secure: bool = True  # False only when served on loopback without TLS
    demo: bool = False  # seed demo users and the demo area directory
    hold_s: float = 48 * 3600.0  # a stop-payment holds 48 h (PBoC 2016 No. 86) ...
    hold_renewals: int = 1  # ... and may be renewed once
    visit_sla_s: float = 3600.0  # deadline of a door visit after escalation
    login_max_failures: int = 5  # failed logins before the account is locked for a while
    login_lockout_s: float = 300.0
    utc_offset_h: int = 8  # the center's local time (China Standard Time, no DST)
    audit_tail: int = 2000  # how many recent audit entries the console keeps for display

    @classmethod
    def from_settings(cls, settings: Settings, *, demo: bool | None = None) -> DeskConfig:
        """Read `desk_*` settings when present; a loopback console defaults to non-Secure cookies
        (there is no TLS on loopback), anything else gets Secure cookies."""
        secure = getattr(settings, "desk_cookie_secure", None)
        if secure is None:
            secure = settings.host not in LOOPBACK_HOSTS
        return cls(
            claim_stale_s=float(getattr(settings, "desk_claim_stale_s", cls.claim_stale_s)),
            session_idle_s=float(getattr(settings, "desk_session_idle_s", cls.session_idle_s)),
            cookie_secure=bool(secure),
            demo=bool(getattr(settings, "desk_demo", False)) if demo is None else demo,
            visit_sla_s=float(getattr(settings, "desk_visit_sla_s", cls.visit_sla_s)),
        )


def system_clock() -> float:
    return time.time()
