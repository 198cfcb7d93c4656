"""What the console says to people, in Chinese with English: outcome labels, statuses, the
dissuasion script per fraud scenario, and the one-paragraph evidence summary of an escalation.

Scripts follow the public guidance of the 96110 desk: say who you are and how to verify it,
name the scam, give the one rule that breaks it, and make the victim repeat the action they
will take. They are prompts for a trained operator, not something to read out word for word.
"""

from __future__ import annotations

from dataclasses import dataclass

from antifraud.contracts import DissuasionTask, OutcomeCode
from antifraud.decode import format_fen
from antifraud.encode import SCENARIO_TEXT
from antifraud.masking import mask_phone


@dataclass(frozen=True, slots=True)
class Script:
    opening: tuple[str, str]
    points: tuple[tuple[str, str], ...]
    close: tuple[str, str]


_OPENING = (
    "您好，这里是96110反诈预警中心。您刚刚可能接到了诈骗电话，请先不要转账，听我说一分钟。"
    "您可以挂断后拨打110核实我的身份。",
    "Hello, this is the 96110 anti-fraud warning center. You may have just received a scam call. "
    "Please do not transfer any money; give me one minute. You can hang up and call 110 to "
    "verify who I am.",
)

SCRIPTS: dict[str, Script] = {
    "impersonating_police": Script(
        _OPENING,
        (
            (
                "公安、检察院、法院不会通过电话办案，不会要求转账到“安全账户”，也不会发“通缉令”。",
                "Police, procuratorates and courts never handle cases by phone, never ask you "
                "to move money to a 'safe account', and never send 'arrest warrants' online.",
            ),
            (
                "对方让您保密、不许告诉家人，正是诈骗的手法。",
                "Being told to keep it secret, even from your family, is the scam's trick.",
            ),
            (
                "如果对方让您下载会议软件或共享屏幕，请立即退出并卸载。",
                "If they asked you to install a meeting app or share your screen, leave it and "
                "uninstall it now.",
            ),
        ),
        (
            "请您重复一遍：不转账、不共享屏幕、挂断后打110核实。",
            "Please repeat after me: no transfer, no screen sharing, hang up and call 110.",
        ),
    ),
    "fake_customer_service": Script(
        _OPENING,
        (
            (
                "正规电商和快递退款原路退回，不需要您提供验证码或向对方转账。",
                "Genuine refunds go back the way you paid; no platform needs your SMS codes or "
                "a transfer from you.",
            ),
            (
                "“关闭百万保障”“取消会员扣费”“征信受影响”都是诈骗话术。",
                "'Cancel your premium membership', 'turn off a million-yuan insurance', 'your "
                "credit record will suffer' are all scam lines.",
            ),
            (
                "请通过App内的官方客服或银行官方电话核实，不要回拨对方号码。",
                "Check through the official app or your bank's official number, never by "
                "calling them back.",
            ),
        ),
        (
            "请您确认：不提供验证码、不下载对方要求的软件、不转账。",
            "Please confirm: no SMS codes, no apps they ask for, no transfer.",
        ),
    ),
    "investment_romance": Script(
        _OPENING,
        (
            (
                "网上认识、从未见面的人推荐投资平台，是“杀猪盘”的典型特征。",
                "Someone met online, never in person, who recommends an investment platform is "
                "the classic 'pig-butchering' pattern.",
            ),
            (
                "平台显示的盈利是假的，要“交税”“交保证金”才能提现，钱只会越投越多。",
                "The profits shown are fake; 'taxes' or 'deposits' to withdraw only take more "
                "money.",
            ),
            (
                "请先停下来，和家人商量，我们也可以帮您核实这个平台。",
                "Please stop now and talk it over with your family; we can also check the "
                "platform for you.",
            ),
        ),
        (
            "请您答应我：今天不再向这个平台或个人转任何钱。",
            "Please promise me: no more money to that platform or person today.",
        ),
    ),
    "loan": Script(
        _OPENING,
        (
            (
                "正规贷款放款前不收取任何费用，“解冻费”“刷流水”“保证金”都是诈骗。",
                "Genuine lenders charge nothing before paying out; 'unfreezing fees', 'turnover "
                "deposits' and 'guarantees' are fraud.",
            ),
            (
                "对方说您“填错银行卡号”要求交钱修改，是固定的骗局。",
                "Being told you 'entered a wrong card number' and must pay to fix it is a "
                "standard scam.",
            ),
            (
                "需要贷款请到银行网点或持牌机构的官方App办理。",
                "For a loan, go to a bank branch or a licensed lender's official app.",
            ),
        ),
        (
            "请您确认：不再交任何费用，删除对方的App和联系方式。",
            "Please confirm: no more fees, and delete their app and contact.",
        ),
    ),
    "impersonating_acquaintance": Script(
        _OPENING,
        (
            (
                "自称领导、亲友借钱或让您代转账，请先用您原来保存的号码打电话、当面核实。",
                "Someone claiming to be your boss, relative or friend asking for money: call "
                "them on the number you already had, or check in person.",
            ),
            (
                "新加的微信或QQ、换了号码、声音视频不清楚，都可能是冒充，甚至是AI合成。",
                "A new WeChat or QQ account, a changed number, unclear voice or video can all "
                "be impersonation, even AI-generated.",
            ),
        ),
        (
            "请您先核实，核实之前不要转账。",
            "Please verify first; no transfer before you have.",
        ),
    ),
    "unknown": Script(
        _OPENING,
        (
            (
                "请告诉我刚才对方是谁、让您做什么。凡是要求转账、提供验证码、下载陌生软件的，都要警惕。",
                "Tell me who called and what they asked. Any request to transfer money, give "
                "SMS codes or install unknown apps is a warning sign.",
            ),
            (
                "不要相信“安全账户”“内部渠道”“高额回报”。",
                "There is no 'safe account', no 'inside channel', no guaranteed high return.",
            ),
        ),
        (
            "请您确认：今天不向陌生账户转账；有疑问随时拨打96110。",
            "Please confirm: no transfer to an unknown account today; call 96110 any time.",
        ),
    ),
}


def script_for(scenario: str) -> Script:
    return SCRIPTS.get(scenario, SCRIPTS["unknown"])


def scenario_text(scenario: str) -> str:
    return SCENARIO_TEXT.get(scenario, scenario)


OUTCOME_TEXT: dict[OutcomeCode, tuple[str, str]] = {
    OutcomeCode.DISSUADED: ("已接通，劝阻成功", "reached and dissuaded"),
    OutcomeCode.STILL_INTENDS_TO_PAY: ("已接通，仍坚持转账", "reached, still intends to pay"),
    OutcomeCode.ALREADY_PAID: ("已接通，已被骗转账", "reached, already paid"),
    OutcomeCode.LINE_BUSY: ("占线（可能正与骗子通话）", "line busy (likely on the scam call)"),
    OutcomeCode.UNREACHABLE_ESCALATED: (
        "无法联系，转派出所上门",
        "unreachable, escalated for a visit",
    ),
    OutcomeCode.FALSE_ALARM: ("误报", "false alarm"),
    OutcomeCode.ACKNOWLEDGED: ("已受理", "acknowledged"),
    OutcomeCode.HELD: ("已止付/冻结", "held"),
    OutcomeCode.RENEWED: ("已续期", "hold renewed"),
    OutcomeCode.FUNDS_GONE: ("资金已转出", "funds already gone"),
    OutcomeCode.ACCOUNT_NOT_FOUND: ("账户不存在", "account not found"),
    OutcomeCode.REJECTED: ("拒绝执行", "rejected"),
    OutcomeCode.VISIT_DISSUADED: ("上门劝阻成功", "dissuaded in person"),
    OutcomeCode.VISIT_NOT_FOUND: ("上门未找到人", "not found at home"),
    OutcomeCode.VISIT_ALREADY_PAID: ("上门时已被骗", "already paid when visited"),
}

DESK_OUTCOMES = (
    OutcomeCode.DISSUADED,
    OutcomeCode.STILL_INTENDS_TO_PAY,
    OutcomeCode.ALREADY_PAID,
    OutcomeCode.LINE_BUSY,
    OutcomeCode.UNREACHABLE_ESCALATED,
    OutcomeCode.FALSE_ALARM,
)
BANK_OUTCOMES = (
    OutcomeCode.ACKNOWLEDGED,
    OutcomeCode.HELD,
    OutcomeCode.RENEWED,
    OutcomeCode.FUNDS_GONE,
    OutcomeCode.ACCOUNT_NOT_FOUND,
    OutcomeCode.REJECTED,
)
VISIT_OUTCOMES = (
    OutcomeCode.VISIT_DISSUADED,
    OutcomeCode.VISIT_NOT_FOUND,
    OutcomeCode.VISIT_ALREADY_PAID,
)


def outcome_text(code: OutcomeCode) -> str:
    zh, en = OUTCOME_TEXT[code]
    return f"{zh} / {en}"


STATUS_TEXT = {
    "open": ("待处置", "open"),
    "claimed": ("处置中", "in progress"),
    "escalated": ("已转上门", "escalated"),
    "closed": ("已办结", "closed"),
    "new": ("待受理", "new"),
    "acknowledged": ("已受理", "acknowledged"),
    "held": ("已止付", "held"),
    "hold_expired": ("止付已到期", "hold expired"),
    "funds_gone": ("资金已转出", "funds gone"),
    "account_not_found": ("账户不存在", "account not found"),
    "rejected": ("拒绝执行", "rejected"),
    "visited": ("已上门", "visited"),
}

KIND_TEXT = {"stop_payment": ("紧急止付", "stop payment"), "freeze": ("冻结", "freeze")}


def evidence_summary(task: DissuasionTask) -> str:
    """One bilingual line a grid officer reads before knocking: calls, longest, money moved."""
    parts_zh: list[str] = []
    parts_en: list[str] = []
    if task.calls:
        longest = max(task.calls, key=lambda call: call.duration_s)
        minutes = round(longest.duration_s / 60)
        caller = mask_phone(longest.caller)
        parts_zh.append(f"高风险来电 {len(task.calls)} 次，最长 {minutes} 分钟（{caller}）")
        parts_en.append(f"{len(task.calls)} risky call(s), longest {minutes} min (from {caller})")
    if task.transfers:
        total = format_fen(sum(t.amount_fen for t in task.transfers))
        new_payees = sum(1 for t in task.transfers if t.new_payee)
        parts_zh.append(f"转账 {len(task.transfers)} 笔共 {total} 元，新收款人 {new_payees} 个")
        parts_en.append(
            f"{len(task.transfers)} transfer(s) totalling {total} CNY, {new_payees} to new payees"
        )
    if not parts_zh:
        return "无详细证据 / no detailed evidence"
    return "；".join(parts_zh) + " / " + "; ".join(parts_en)
