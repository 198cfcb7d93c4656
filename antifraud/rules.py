"""Rules with stable reason codes: what makes a caller or a transfer risky, in words.

Each hit carries a weight (its own probability of fraud); hits and the model's probability are
combined by noisy-OR, so every point of risk can be traced to a reason an operator reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from antifraud.contracts import CallEvidence, Reason, TransferEvidence
from antifraud.decode import format_fen
from antifraud.features import CallerWindow
from antifraud.lists import ListStatus
from antifraud.phones import NumberKind, PhoneInfo
from antifraud.scoring import noisy_or
from antifraud.settings import Settings

MODEL_REASON_FROM = 0.5  # a model probability this high is worth explaining to the operator
LARGE_AMOUNT_FEN = 1_000_000  # 10,000 CNY


@dataclass(frozen=True, slots=True)
class RuleHit:
    reason: Reason
    weight: float


@dataclass(frozen=True, slots=True)
class Assessment:
    """A scored caller or transfer: risk in 0..1 and the hits that explain it."""

    risk: float
    hits: tuple[RuleHit, ...]
    allowlisted: bool = False
    model_probability: float = 0.0

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return tuple(hit.reason for hit in self.hits)


def _hit(code: str, text: str, text_en: str, weight: float) -> RuleHit:
    return RuleHit(Reason(code, text, text_en), weight)


def _model_hit(probability: float, model_name: str, factors: Sequence[str]) -> RuleHit:
    listed = ", ".join(factors) or "-"
    return _hit(
        "MODEL_RISK",
        f"模型 {model_name} 评分 {probability:.2f}（主要因素：{listed}）",
        f"model {model_name} scores {probability:.2f} (main factors: {listed})",
        probability,
    )


def assess_caller(
    phone: PhoneInfo,
    window: CallerWindow,
    listed: ListStatus | None,
    model_probability: float,
    model_name: str,
    model_factors: Sequence[str],
    settings: Settings,
) -> Assessment:
    """How likely this number is a fraud caller. Allowlisted and official lines score 0."""
    if phone.official or (listed is not None and listed.allowed is not None):
        label = phone.service or (listed.allowed.reason if listed and listed.allowed else "")
        return Assessment(
            0.0,
            (_hit("ALLOWLISTED", f"白名单号码：{label}", f"allowlisted number: {label}", 0.0),),
            allowlisted=True,
            model_probability=model_probability,
        )
    hits: list[RuleHit] = []
    blocked = listed.blocked if listed is not None else None
    if blocked is not None:
        if blocked.entry_type == "prefix":
            hits.append(
                _hit(
                    "BLOCKLISTED_RANGE",
                    f"呼叫号码属于黑名单号段 {blocked.value}（来源：{blocked.source}，{blocked.reason}）",
                    f"caller is in blocklisted range {blocked.value} "
                    f"(source: {blocked.source}, {blocked.reason})",
                    0.8,
                )
            )
        else:
            hits.append(
                _hit(
                    "BLOCKLISTED_CALLER",
                    f"呼叫号码在黑名单中（来源：{blocked.source}，{blocked.reason}）",
                    f"caller is blocklisted (source: {blocked.source}, {blocked.reason})",
                    0.95,
                )
            )
    if phone.spoofed:
        hits.append(
            _hit(
                "SPOOFED_SERVICE_NUMBER",
                f"冒用官方/服务号码的改号来电（显示为 {phone.original}）",
                f"caller ID imitates a service number in a form genuine ones never use "
                f"({phone.original})",
                0.9,
            )
        )
    elif phone.kind is NumberKind.INVALID:
        hits.append(
            _hit(
                "INVALID_CALLER_NUMBER",
                f"主叫号码不存在或格式不可能（{phone.original}），疑似改号",
                f"caller number cannot exist ({phone.original}): likely spoofed caller ID",
                0.6,
            )
        )
    if phone.kind is NumberKind.MVNO_MOBILE:
        hits.append(
            _hit(
                "VIRTUAL_OPERATOR_NUMBER",
                "虚拟运营商号段来电",
                "caller uses a virtual-operator range",
                0.15,
            )
        )
    if phone.kind is NumberKind.INTERNATIONAL:
        hits.append(
            _hit(
                "INTERNATIONAL_CALLER",
                f"境外来电（{phone.country or '未知'}）",
                f"international call from {phone.country or 'unknown country'}",
                0.2,
            )
        )
    if window.calls_1h >= 20 or window.calls_24h >= 100:
        hits.append(
            _hit(
                "HIGH_CALL_VOLUME",
                f"呼出频繁：1小时 {window.calls_1h} 次，24小时 {window.calls_24h} 次",
                f"calls a lot: {window.calls_1h} in 1 h, {window.calls_24h} in 24 h",
                0.3,
            )
        )
    if window.distinct_callees_24h >= 50:
        hits.append(
            _hit(
                "MANY_DISTINCT_CALLEES",
                f"24小时内呼叫 {window.distinct_callees_24h} 个不同号码",
                f"called {window.distinct_callees_24h} different people in 24 h",
                0.3,
            )
        )
    if window.calls_24h >= 10 and window.short_share_24h >= 0.6:
        hits.append(
            _hit(
                "SHORT_CALL_PATTERN",
                f"短通话占比 {window.short_share_24h:.0%}",
                f"{window.short_share_24h:.0%} of its calls are short",
                0.2,
            )
        )
    if window.calls_24h >= 10 and window.unanswered_share_24h >= 0.5:
        hits.append(
            _hit(
                "UNANSWERED_PATTERN",
                f"未接通占比 {window.unanswered_share_24h:.0%}",
                f"{window.unanswered_share_24h:.0%} of its calls go unanswered",
                0.2,
            )
        )
    if window.number_age_days < 2 and window.calls_24h >= 20:
        hits.append(
            _hit(
                "NEW_NUMBER_BURST",
                f"新出现号码（{window.number_age_days:.1f} 天）即大量外呼",
                f"number first seen {window.number_age_days:.1f} days ago and already calls a lot",
                0.2,
            )
        )
    if model_probability >= MODEL_REASON_FROM:
        hits.append(_model_hit(model_probability, model_name, model_factors))
    risk = noisy_or([hit.weight for hit in hits] + [model_probability])
    return Assessment(risk, tuple(hits), model_probability=model_probability)


def assess_transfer(
    transfer: TransferEvidence,
    linked: Sequence[CallEvidence],
    payee_allowlisted: bool,
    model_probability: float,
    model_name: str,
    model_factors: Sequence[str],
    settings: Settings,
) -> tuple[Assessment, bool]:
    """Risk of a transfer and whether it warrants stop-payment and freeze requests."""
    if payee_allowlisted:
        return Assessment(
            0.0,
            (_hit("ALLOWLISTED_PAYEE", "收款账户在白名单中", "payee account is allowlisted", 0.0),),
            allowlisted=True,
            model_probability=model_probability,
        ), False
    hits: list[RuleHit] = []
    if transfer.payee_blocklisted:
        hits.append(
            _hit(
                "BLOCKLISTED_PAYEE",
                "收款账户在黑名单中（涉诈账户）",
                "payee account is blocklisted",
                0.95,
            )
        )
    mule_like = transfer.payee_fan_in_24h >= settings.mule_fan_in
    if mule_like:
        hits.append(
            _hit(
                "MULE_FAN_IN",
                f"收款账户24小时内收到 {transfer.payee_fan_in_24h} 个不同账户转入，疑似涉诈“跑分”账户",
                f"payee received from {transfer.payee_fan_in_24h} different payers in 24 h "
                "(mule pattern)",
                0.5,
            )
        )
    if linked:
        strongest = max(linked, key=lambda contact: contact.caller_risk)
        minutes_before = (transfer.ts - strongest.start_ts - strongest.duration_s) / 60.0
        when = f"{minutes_before:.0f} 分钟后" if minutes_before >= 0 else "通话期间"
        when_en = f"{minutes_before:.0f} min after" if minutes_before >= 0 else "during"
        hits.append(
            _hit(
                "TRANSFER_AFTER_RISKY_CALL",
                f"与高风险号码 {strongest.caller} 通话 {strongest.duration_s // 60} 分钟，{when}转账",
                f"transfer {when_en} a {strongest.duration_s // 60}-min call with risky number "
                f"{strongest.caller} (risk {strongest.caller_risk:.2f})",
                0.9 * strongest.caller_risk,
            )
        )
    if transfer.new_payee and hits:
        hits.append(_hit("NEW_PAYEE", "首次向该账户转账", "first transfer to this payee", 0.1))
    if transfer.amount_fen >= LARGE_AMOUNT_FEN and hits:
        amount = format_fen(transfer.amount_fen)
        hits.append(
            _hit(
                "LARGE_AMOUNT",
                f"大额转账 {amount} 元",
                f"large amount: {amount} CNY",
                0.05,
            )
        )
    if model_probability >= MODEL_REASON_FROM:
        hits.append(_model_hit(model_probability, model_name, model_factors))
    risk = noisy_or([hit.weight for hit in hits] + [model_probability])
    enough_money = transfer.amount_fen >= settings.min_request_amount_fen
    # Money to a long-known payee is not stopped on suspicion alone; a new or mule-like one is,
    # once a risky call, the fan-in itself or a confident model explains it.
    payee_suspicious = transfer.new_payee or mule_like
    raise_requests = transfer.payee_blocklisted or (
        enough_money
        and payee_suspicious
        and (bool(linked) or mule_like or model_probability >= settings.model_alert_threshold)
    )
    return Assessment(risk, tuple(hits), model_probability=model_probability), raise_requests
