"""Who may read and change what: every decision the server makes about a user, without I/O.

Handlers ask these functions on every read and write; hiding a button is never the control.
A role that has no business with a kind of subject gets 403; a user of the right role asking
for a subject outside their bank or areas gets 404, so ids cannot be probed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from antifraud.contracts import StopPaymentRequest
from antifraud.desk.records import Escalation

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
BANK_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{1,15}$")
AREA_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$")


class Role(StrEnum):
    OPERATOR = "operator"  # 96110 desk
    BANK_LIAISON = "bank_liaison"  # bound to one bank
    STATION_OFFICER = "station_officer"  # bound to one or more areas
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


ROLE_TEXT = {
    Role.OPERATOR: "96110 劝阻员 / desk operator",
    Role.BANK_LIAISON: "银行驻点 / bank liaison",
    Role.STATION_OFFICER: "派出所·网格 / station officer",
    Role.SUPERVISOR: "值班长 / supervisor",
    Role.ADMIN: "管理员 / admin",
}


@dataclass(frozen=True, slots=True)
class User:
    username: str
    role: Role
    display_name: str = ""
    bank: str | None = None  # bank liaisons only
    areas: tuple[str, ...] = field(default_factory=tuple)  # station officers only
    disabled: bool = False

    @property
    def label(self) -> str:
        return self.display_name or self.username


class Denied(Exception):
    """An action or read refused, with the HTTP status the caller gets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def validate_user(user: User) -> None:
    """A user's binding must match the role: a liaison has exactly one bank, an officer areas."""
    if not USERNAME_PATTERN.match(user.username):
        raise ValueError("username: 2-32 of a-z 0-9 . _ -, starting with a letter or digit")
    if user.role is Role.BANK_LIAISON:
        if not user.bank or not BANK_PATTERN.match(user.bank):
            raise ValueError("a bank liaison needs one bank code, e.g. ICBC")
    elif user.bank:
        raise ValueError("only a bank liaison is bound to a bank")
    if user.role is Role.STATION_OFFICER:
        if not user.areas or not all(AREA_PATTERN.match(area) for area in user.areas):
            raise ValueError("a station officer needs one or more area codes")
    elif user.areas:
        raise ValueError("only a station officer is bound to areas")


def area_covered(bound: str, area: str) -> bool:
    """Area codes are hierarchical (city 3301, district 330101, grid 330101-007): an officer
    bound to a code covers every area whose code starts with it."""
    return area.startswith(bound)


def _require_role(user: User, *roles: Role) -> None:
    if user.role not in roles:
        raise Denied(403, "your role may not do this")


# --- tasks (96110 desk) -----------------------------------------------------------------------


def check_read_tasks(user: User) -> None:
    _require_role(user, Role.OPERATOR, Role.SUPERVISOR)


def check_work_tasks(user: User) -> None:
    """Claiming and recording outcomes is the operators' work; supervisors only watch."""
    _require_role(user, Role.OPERATOR)


def check_release_task(user: User, holder: str | None) -> None:
    """The holder releases their claim; a supervisor may release anyone's."""
    _require_role(user, Role.OPERATOR, Role.SUPERVISOR)
    if holder is None:
        raise Denied(409, "the task is not claimed")
    if user.role is Role.OPERATOR and holder != user.username:
        raise Denied(409, "another operator holds this task")


def sees_full_victim_number(user: User, holder: str | None) -> bool:
    """Only the operator holding the task sees the full number (and that view is audited)."""
    return user.role is Role.OPERATOR and holder == user.username


# --- stop-payment / freeze requests (banks) ---------------------------------------------------


def check_read_requests(user: User) -> None:
    _require_role(user, Role.BANK_LIAISON, Role.SUPERVISOR)


def request_visible(user: User, request: StopPaymentRequest) -> bool:
    if user.role is Role.SUPERVISOR:
        return True
    return user.role is Role.BANK_LIAISON and user.bank == request.bank


def check_read_request(user: User, request: StopPaymentRequest | None) -> StopPaymentRequest:
    check_read_requests(user)
    if request is None or not request_visible(user, request):
        raise Denied(404, "no such request")
    return request


def check_work_request(user: User, request: StopPaymentRequest | None) -> StopPaymentRequest:
    _require_role(user, Role.BANK_LIAISON)
    if request is None or user.bank != request.bank:
        raise Denied(404, "no such request")
    return request


def sees_full_account(user: User, request: StopPaymentRequest) -> bool:
    """The liaison of the request's bank needs the full account to execute it."""
    return user.role is Role.BANK_LIAISON and user.bank == request.bank


# --- escalations (stations and grids) ---------------------------------------------------------


def check_read_escalations(user: User) -> None:
    _require_role(user, Role.STATION_OFFICER, Role.SUPERVISOR)


def escalation_visible(user: User, escalation: Escalation) -> bool:
    if user.role is Role.SUPERVISOR:
        return True
    return user.role is Role.STATION_OFFICER and any(
        area_covered(bound, escalation.area) for bound in user.areas
    )


def check_read_escalation(user: User, escalation: Escalation | None) -> Escalation:
    check_read_escalations(user)
    if escalation is None or not escalation_visible(user, escalation):
        raise Denied(404, "no such escalation")
    return escalation


def check_work_escalation(user: User, escalation: Escalation | None) -> Escalation:
    _require_role(user, Role.STATION_OFFICER)
    if escalation is None or not escalation_visible(user, escalation):
        raise Denied(404, "no such escalation")
    return escalation


def sees_full_number_on_escalation(user: User, escalation: Escalation) -> bool:
    return user.role is Role.STATION_OFFICER and escalation_visible(user, escalation)


# --- oversight ------------------------------------------------------------------------------


def check_read_metrics(user: User) -> None:
    _require_role(user, Role.SUPERVISOR)


def check_read_audit(user: User) -> None:
    _require_role(user, Role.SUPERVISOR, Role.ADMIN)


def home_path(user: User) -> str:
    return {
        Role.OPERATOR: "/desk",
        Role.BANK_LIAISON: "/bank",
        Role.STATION_OFFICER: "/station",
        Role.SUPERVISOR: "/supervisor",
        Role.ADMIN: "/audit",
    }[user.role]


def change_visible(user: User, kind: str, bank: str | None, area: str | None) -> bool:
    """Which live-update notices a user's browser receives (they carry ids, never numbers)."""
    if user.role is Role.SUPERVISOR:
        return kind != "audit"
    if user.role is Role.OPERATOR:
        return kind in ("task", "escalation")
    if user.role is Role.BANK_LIAISON:
        return kind == "request" and bank == user.bank
    if user.role is Role.STATION_OFFICER:
        return (
            kind == "escalation"
            and area is not None
            and any(area_covered(bound, area) for bound in user.areas)
        )
    return kind == "audit"
