"""Demo mode only: a user for each role and the simulated city's area directory, so a laptop
demo can be logged into at once. Never seeded unless the console runs with `--demo`."""

from __future__ import annotations

from antifraud.desk.areas import AreaStore, demo_areas
from antifraud.desk.authz import Role, User
from antifraud.desk.passwords import hash_password
from antifraud.desk.users import UserStore

DEMO_PASSWORD_SUFFIX = "-demo"  # noqa: S105 - demo mode only, printed at start

DEMO_USERS = (
    User("operator", Role.OPERATOR, "张敏 Zhang Min"),
    User("operator2", Role.OPERATOR, "李强 Li Qiang"),
    User("icbc", Role.BANK_LIAISON, "工行驻点 ICBC desk", bank="ICBC"),
    User("abc", Role.BANK_LIAISON, "农行驻点 ABC desk", bank="ABC"),
    User("boc", Role.BANK_LIAISON, "中行驻点 BOC desk", bank="BOC"),
    User("ccb", Role.BANK_LIAISON, "建行驻点 CCB desk", bank="CCB"),
    User("bocom", Role.BANK_LIAISON, "交行驻点 BOCOM desk", bank="BOCOM"),
    User("psbc", Role.BANK_LIAISON, "邮储驻点 PSBC desk", bank="PSBC"),
    User(
        "station",
        Role.STATION_OFFICER,
        "东湖所 Donghu station",
        areas=("330101", "330102", "330103"),
    ),
    User("supervisor", Role.SUPERVISOR, "值班长 Duty supervisor"),
    User("admin", Role.ADMIN, "管理员 Admin"),
)


def demo_password(username: str) -> str:
    return username + DEMO_PASSWORD_SUFFIX


def login_hint() -> str:
    names = ", ".join(user.username for user in DEMO_USERS)
    return f"demo users {names}; password = user name + '{DEMO_PASSWORD_SUFFIX}' (e.g. operator{DEMO_PASSWORD_SUFFIX})"


async def seed_demo(users: UserStore, areas: AreaStore, now: float) -> int:
    """Adds the demo users that are missing (never overwrites) and the demo directory if none."""
    added = 0
    for user in DEMO_USERS:
        if await users.get(user.username) is None:
            await users.add(user, hash_password(demo_password(user.username)), now)
            added += 1
    if len(await areas.load()) == 0:
        await areas.replace(demo_areas())
    return added
