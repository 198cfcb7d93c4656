"""The real pages in headless Chromium (Debian's `chromium`, driven by Playwright): an operator
claims a task and escalates it, a bank liaison records a hold, a supervisor watches the figures
move, all live on the session's broker. Screenshots of the three main pages go to
docs/screenshots/."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from antifraud.contracts import Priority, Reason, RequestKind
from antifraud.desk.authz import Role, User
from tests.desk.conftest import PASSWORD, Desk, Feed
from tests.desk.factories import make_request, make_task, new_victim

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")


def _reasons(scenario: str) -> tuple[Reason, ...]:
    caller = "+8617000001111"
    by_scenario = {
        "fake_customer_service": (
            Reason(
                "SPOOFED_SERVICE_NUMBER",
                "冒用官方/服务号码的改号来电（显示为 +86 95588）",
                "caller ID imitates a service number (+86 95588)",
            ),
            Reason(
                "TRANSFER_AFTER_RISKY_CALL",
                f"与高风险号码 {caller} 通话 22 分钟，4 分钟后转账",
                f"transfer 4 min after a 22-min call with risky number {caller} (risk 0.91)",
            ),
        ),
        "investment_romance": (
            Reason("REPEATED_CONTACT", "5 次高风险通话", "5 risky calls"),
            Reason(
                "MULE_FAN_IN",
                "收款账户24小时内收到 7 个不同账户转入，疑似涉诈“跑分”账户",
                "payee received from 7 different payers in 24 h (mule pattern)",
            ),
        ),
        "loan": (
            Reason("NEW_PAYEE", "首次向该账户转账", "first transfer to this payee"),
            Reason("MODEL_RISK", "模型评分 0.82", "model risk 0.82"),
        ),
        "unknown": (
            Reason(
                "RISKY_CALL_ANSWERED",
                f"接听高风险号码 {caller} 来电 11 分钟（风险 0.74）",
                f"answered an 11-min call from risky number {caller} (risk 0.74)",
            ),
        ),
    }
    return by_scenario.get(scenario, ())


async def _api_client(desk: Desk, user: User) -> httpx.AsyncClient:
    """A bank's or any user's own system: bearer token, no session to go idle."""
    token = await desk.console.users.issue_token(user.username)
    return httpx.AsyncClient(
        base_url=desk.url, headers={"Authorization": f"Bearer {token}"}, timeout=20
    )


async def _seed_history(desk: Desk, feed: Feed, make_user: Any) -> None:
    """Earlier today: tasks worked a minute or two after their alert (the clock is moved back
    while recording), so the dashboard has a day behind it."""
    operator = await make_user(Role.OPERATOR, prefix="hist")
    liaison = await make_user(Role.BANK_LIAISON, bank="CCB", prefix="ccb")
    officer = await make_user(Role.STATION_OFFICER, areas=("3301",), prefix="cop")
    client = await _api_client(desk, operator)
    bank_client = await _api_client(desk, liaison)
    cop_client = await _api_client(desk, officer)
    try:
        await _record_history(desk, feed, client, bank_client, cop_client)
    finally:
        for opened in (client, bank_client, cop_client):
            await opened.aclose()


async def _record_history(
    desk: Desk,
    feed: Feed,
    client: httpx.AsyncClient,
    bank_client: httpx.AsyncClient,
    cop_client: httpx.AsyncClient,
) -> None:
    now = time.time()
    local_hour = (now + 8 * 3600) % 86400 / 3600
    plan = [
        ("dissuaded", "impersonating_police", "330101-003"),
        ("false_alarm", "unknown", "330102-014"),
        ("dissuaded", "fake_customer_service", "330103-020"),
        ("unreachable_escalated", "investment_romance", "330101-011"),
        ("dissuaded", "loan", "330104-002"),
        ("already_paid", "fake_customer_service", "330105-017"),
        ("dissuaded", "impersonating_acquaintance", "330102-006"),
        ("false_alarm", "loan", "330106-009"),
    ]
    span_h = max(1.0, min(local_hour - 0.5, 9.0))
    for index, (outcome, scenario, area) in enumerate(plan):
        created = now - span_h * 3600 * (1 - index / len(plan))
        task = make_task(
            area=area,
            scenario=scenario,
            created_ts=created,
            priority=(Priority.P1, Priority.P2)[index % 2],
            task_reasons=_reasons(scenario) or None,
        )
        await feed.task(task)
        request = make_request("CCB", created_ts=created + 5, task_id=task.task_id)
        await feed.request(request)
        with desk.clock.advanced(created + 70 + 25 * index - time.time()):
            await client.post(f"/api/v1/tasks/{task.task_id}/claim")
            body: dict[str, str] = {"outcome": outcome}
            if outcome == "already_paid":
                body["amount"] = "48000.00"
            response = await client.post(f"/api/v1/tasks/{task.task_id}/outcomes", json=body)
            assert response.status_code == 200, response.text
            held = await bank_client.post(
                f"/api/v1/requests/{request.request_id}/outcomes",
                json={
                    "outcome": "held" if index % 3 else "funds_gone",
                    "note": "转至 BOC 6216****0042 / moved on to BOC",
                },
            )
            assert held.status_code == 200, held.text
        if outcome == "unreachable_escalated":
            with desk.clock.advanced(created + 1900 - time.time()):
                escalation_id = response.json()["escalation_id"]
                visit = await cop_client.post(
                    f"/api/v1/escalations/{escalation_id}/visits",
                    json={"outcome": "visit_dissuaded"},
                )
                assert visit.status_code == 200, visit.text


async def _seed_queue(feed: Feed) -> list[Any]:
    now = time.time()
    tasks = [
        make_task(
            scenario="impersonating_police",
            area="330101-007",
            priority=Priority.P1,
            created_ts=now - 50,
            due_in_s=180,
            risk=0.97,
        ),
        make_task(
            scenario="fake_customer_service",
            area="330103-015",
            priority=Priority.P1,
            created_ts=now - 20,
            due_in_s=180,
            risk=0.91,
            task_reasons=_reasons("fake_customer_service"),
        ),
        make_task(
            scenario="investment_romance",
            area="330102-004",
            priority=Priority.P2,
            created_ts=now - 240,
            due_in_s=900,
            risk=0.78,
            task_reasons=_reasons("investment_romance"),
        ),
        make_task(
            scenario="loan",
            area="330105-021",
            priority=Priority.P2,
            created_ts=now - 700,
            due_in_s=900,
            risk=0.66,
            task_reasons=_reasons("loan"),
        ),
        make_task(
            scenario="unknown",
            area="330108-010",
            priority=Priority.P3,
            created_ts=now - 900,
            due_in_s=3600,
            risk=0.58,
            task_reasons=_reasons("unknown"),
        ),
    ]
    for task in tasks:
        await feed.task(task)
    requests = [
        make_request("ICBC", created_ts=now - 40, victim=tasks[0].victim, task_id=tasks[0].task_id),
        make_request(
            "ICBC",
            kind=RequestKind.FREEZE,
            created_ts=now - 100,
            amount_fen=2_000_000,
            account="6212261202003344556",
        ),
        make_request(
            "ICBC", created_ts=now - 200, amount_fen=860_000, account="6222021001998877665"
        ),
        make_request("ABC", kind=RequestKind.FREEZE, created_ts=now - 30),
    ]
    for request in requests:
        await feed.request(request)
    return [tasks, requests]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


async def _signed_in(browser: Browser, desk: Desk, user: User) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{desk.url}/login")
    await page.fill("input[name=username]", user.username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("form.login button[type=submit]")
    return context, page


async def _kpi(page: Page, element_id: str) -> str:
    return (await page.locator(f"#{element_id}").inner_text()).strip()


async def test_operator_bank_and_supervisor_in_the_browser(
    desk: Desk, feed: Feed, browser: Browser, make_user: Any
) -> None:
    await _seed_history(desk, feed, make_user)
    _, requests = await _seed_queue(feed)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    supervisor = await make_user(Role.SUPERVISOR, username="wang.lei", name="王磊 Wang Lei")
    operator = await make_user(Role.OPERATOR, username="zhang.min", name="张敏 Zhang Min")
    liaison = await make_user(
        Role.BANK_LIAISON, bank="ICBC", username="icbc.desk", name="工行驻点 ICBC desk"
    )

    # The supervisor's dashboard stays open the whole time: it must move by itself.
    sup_context, sup_page = await _signed_in(browser, desk, supervisor)
    await expect(sup_page).to_have_url(re.compile(r"/supervisor$"))
    await expect(sup_page.locator("#live.on")).to_be_visible()
    escalated_before = int(await _kpi(sup_page, "m-escalated"))
    worked_before = int(await _kpi(sup_page, "m-worked"))
    held_before = await _kpi(sup_page, "m-held")

    # --- operator: a new task appears without a reload; claim it; escalate it -------------
    op_context, op_page = await _signed_in(browser, desk, operator)
    await expect(op_page).to_have_url(re.compile(r"/desk$"))
    await expect(op_page.locator("#live.on")).to_be_visible()
    newcomer = make_task(
        new_victim(),
        scenario="impersonating_police",
        area="330101-007",
        priority=Priority.P1,
        due_in_s=170,
        risk=0.98,
    )
    await feed.task(newcomer)
    row = op_page.locator(f'tr[data-task="{newcomer.task_id}"]')
    await expect(row).to_be_visible(timeout=10_000)  # live update, no reload
    await row.get_by_role("button").click()
    await expect(op_page).to_have_url(re.compile(f"/desk/tasks/{newcomer.task_id}"))
    await expect(op_page.locator(".victim-number")).to_have_text(newcomer.victim)
    await expect(op_page.locator(".flash")).to_be_visible()
    await op_page.screenshot(path=str(SCREENSHOTS / "desk.png"), full_page=True)

    await op_page.check("input[value=unreachable_escalated]")
    await op_page.fill("textarea[name=note]", "三次呼叫无人接听 / no answer after three calls")
    await op_page.click(".outcome-form button[type=submit]")
    await expect(op_page).to_have_url(re.compile(r"/desk\?msg=unreachable_escalated"))
    escalated_row = op_page.locator(".card", has_text="Escalated for a door visit").locator(
        "tr", has_text=newcomer.victim[-4:]
    )
    await expect(escalated_row).to_contain_text("城东派出所")
    await expect(op_page.locator(f'tr[data-task="{newcomer.task_id}"]')).to_have_count(0)
    view = desk.console.state.task_view(newcomer.task_id, time.time())
    assert view is not None and view.status.value == "escalated"

    # --- bank liaison: acknowledge and record a hold ----------------------------------------
    bank_context, bank_page = await _signed_in(browser, desk, liaison)
    await expect(bank_page).to_have_url(re.compile(r"/bank$"))
    assert await bank_page.locator(f'tr[data-request="{requests[3].request_id}"]').count() == 0
    target = requests[0]
    await bank_page.locator(f'tr[data-request="{target.request_id}"]').get_by_role("link").click()
    await expect(bank_page.locator(".victim-number")).to_have_text(target.account)
    await bank_page.get_by_role("button", name=re.compile("Acknowledge")).click()
    await expect(bank_page.locator(".head-status")).to_contain_text("acknowledged")
    await bank_page.check("input[value=held]")
    await bank_page.fill("input[name=amount]", "48000.00")
    await bank_page.click(".outcome-form button[type=submit]")
    await expect(bank_page.locator(".head-status")).to_contain_text("held")
    await expect(bank_page.locator(".hold-clock")).to_contain_text("48,000.00")
    await bank_page.goto(f"{desk.url}/bank")
    await expect(
        bank_page.locator(".card", has_text="Holding").locator("tbody tr")
    ).not_to_have_count(0)
    await bank_page.screenshot(path=str(SCREENSHOTS / "bank.png"), full_page=True)

    # --- supervisor: the figures moved while the page was open -----------------------------
    await expect(sup_page.locator("#m-escalated")).to_have_text(
        str(escalated_before + 1), timeout=10_000
    )
    await expect(sup_page.locator("#m-worked")).to_have_text(str(worked_before + 1))
    await expect(sup_page.locator("#m-held")).not_to_have_text(held_before)
    assert await sup_page.locator("svg.chart").count() >= 5
    await sup_page.screenshot(path=str(SCREENSHOTS / "supervisor.png"), full_page=True)

    for context in (sup_context, op_context, bank_context):
        await context.close()
