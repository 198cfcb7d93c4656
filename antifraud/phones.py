"""Number intelligence: one stable identity and a fraud-relevant kind for every number delivered.

Carriers deliver caller and callee in every format (national, E.164, ``00``-prefixed, with
spaces or dashes, full-width digits), but state needs one key per line, and the rules need to
know whether a number is a mobile, an abused virtual-operator range, a company 400 line, an
official service code, or something that cannot exist. Pure code, no I/O; ``classify`` is
memoized because it runs for every party of every event.

Short service codes (95xxx banks, 100xx carriers, 110, 96110, 12381 ...) are where caller-ID
spoofing concentrates, so the *form* in which one arrives matters:

=============================================  ===================  ========  =======
form                                           example              official  spoofed
=============================================  ===================  ========  =======
plain national code, optionally ``+86``/0086   95588, +86 95588     yes       no
``+`` or ``00`` directly before the code       +95588, 0096110      no        yes
a foreign country code before the code         +1 95588, 0044110    no        yes
area code before a nationwide code             010-95588, 0311110   no        yes
area code before a city-level 96xxx code       0571-96110           yes       no
=============================================  ===================  ========  =======

Why: MIIT requires calls from abroad to keep their international prefix, and no foreign
network hosts a Chinese service code, so a country code in front of one is a caller-ID rewrite
(a bare ``+`` is the classic trace of such software: police warnings about "+955xx" and
"+<police line>"). Nationwide codes (95xxx, 100xx, 110/119/120/122, 12xxx) are presented
without an area code; police have stated that no 110 centre calls out as "area code + 110" and
warn about "area code + 955xx" callers. 96xxx codes are run per city (libphonenumber models
"area code + 96xxx" as a real number, and 96110 desks show up as "0571 96110"), so there the
area code is the genuine form. ``+86`` is treated like its national form because handsets
render domestic numbers that way. A victim *dialling* "010-95588" from another city is
legitimate: ``spoofed`` speaks about a number presented as a caller.

Unknown codes of a service pattern (95xxx, 96xxx, 100xx, 121xx/123xx) are SHORT_SERVICE but not
official: 95 numbers are leased on to third parties and abused. 400/800 lines belong to
companies and are not official unless listed; they are also normally inbound-only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType, carrier, geocoder
from phonenumbers.carrierdata import CARRIER_LONGEST_PREFIX

__all__ = [
    "OFFICIAL_SHORT_CODES",
    "NumberKind",
    "PhoneInfo",
    "classify",
    "subscriber_e164",
]


class NumberKind(StrEnum):
    """What kind of line a number is, in the terms fraud rules care about."""

    MOBILE = "mobile"  # CN mobile on a network operator's own range
    MVNO_MOBILE = "mvno_mobile"  # virtual-operator ranges 162/165/167/170/171, heavily abused
    FIXED_LINE = "fixed_line"  # CN fixed line, with area
    SERVICE_400_800 = "service_400_800"  # company 400 / 800 lines
    SHORT_SERVICE = "short_service"  # 95xxx, 100xx, 110, 96110, 12381 ... (genuine or spoofed)
    INTERNATIONAL = "international"  # a valid non-CN number
    INVALID = "invalid"  # cannot be a real number: itself a caller-ID spoofing sign


@dataclass(frozen=True, slots=True)
class PhoneInfo:
    """What one delivered number is; ``key`` is the identity to keep state under."""

    original: str
    key: str  # E.164; "+86" + digits for short codes; "invalid:" + digits for the rest
    kind: NumberKind
    valid: bool
    country: str | None  # ISO 3166 alpha-2
    operator: str | None  # mobiles only; for MVNO ranges the host network, if known
    area: str | None  # CN area code digits ("10", "755")
    area_name: str | None
    service: str | None  # what a service line is ("ICBC customer service")
    official: bool  # genuine official line in genuine form: allow-listed by default
    spoofed: bool  # a service line in a form no genuine one arrives in

    @property
    def e164(self) -> str | None:
        """E.164 of a dialable number; short codes have none even when genuine."""
        if self.valid and self.kind is not NumberKind.SHORT_SERVICE:
            return self.key
        return None


OFFICIAL_SHORT_CODES: Mapping[str, str] = MappingProxyType(
    {
        "110": "Police emergency",
        "119": "Fire emergency",
        "120": "Medical emergency",
        "122": "Traffic accident police",
        "114": "Directory enquiries",
        "12110": "Police SMS reporting",
        "96110": "Anti-fraud warning centre",
        "12381": "MIIT anti-fraud SMS/call warning",
        "12321": "Spam and fraud reporting centre",
        "12300": "MIIT telecom user complaints",
        "12345": "Government service hotline",
        "12315": "Consumer complaints (market regulation)",
        "12306": "China Railway customer service",
        "12333": "Social security hotline",
        "12366": "Tax service hotline",
        "10086": "China Mobile",
        "10010": "China Unicom",
        "10000": "China Telecom",
        "10099": "China Broadnet",
        "95588": "ICBC customer service",
        "95599": "ABC customer service",
        "95566": "BOC customer service",
        "95533": "CCB customer service",
        "95559": "BOCOM customer service",
        "95580": "PSBC customer service",
        "95555": "China Merchants Bank customer service",
        "95558": "China CITIC Bank customer service",
        "95568": "China Minsheng Bank customer service",
        "95595": "China Everbright Bank customer service",
        "95528": "SPD Bank customer service",
        "95561": "Industrial Bank customer service",
        "95508": "China Guangfa Bank customer service",
        "95577": "Hua Xia Bank customer service",
        "95511": "Ping An customer service",
        "95519": "China Life customer service",
        "95518": "PICC customer service",
        "95500": "CPIC customer service",
        "95188": "Alipay customer service",
        "95017": "WeChat Pay customer service",
    }
)

# National significant numbers of 400/800 lines published by the banks themselves.
_OFFICIAL_400_800_LINES: Mapping[str, str] = MappingProxyType(
    {
        "4006695566": "BOC credit card service",
        "4008205555": "China Merchants Bank credit card service",
    }
)

# Ranges licensed to virtual operators; the network operator is only the host.
_MVNO_PREFIXES = frozenset({"162", "165", "167", "170", "171"})

_SERVICE_CODE_CATEGORIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"95\d{3,4}"), "Nationwide service number (95)"),
    (re.compile(r"96\d{3,4}"), "City public-service number (96)"),
    (re.compile(r"100\d\d"), "Carrier service number (100xx)"),
    (re.compile(r"12[13]\d\d"), "Public-interest service number (12xxx)"),
)
_CITY_LEVEL_PREFIX = "96"

# CN area codes: 10 (Beijing), 2x (the largest cities), three digits 3xx-9xx elsewhere.
_AREA_CODE_SHAPE = re.compile(r"10|2\d|[3-9]\d\d")
# Only digits, plus signs and separators: letters mean vanity text or garbage, not a short code.
_PLAIN_NUMBER = re.compile(r"[\d\s+＋()（）\-‐‑–—－.．/]*")
_FIRST_DIGIT_OR_PLUS = re.compile(r"[+＋\d]")
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")
_CN_MOBILE_DIGITS = 11
_NATIONAL_MOBILE = re.compile(r"1[3-9]\d{9}")

_CN_CALLING_CODE = 86
_CN_CALLING_DIGITS = str(_CN_CALLING_CODE)
_MAX_COUNTRY_CODE_DIGITS = 3
_SHORT_CODE_MIN_DIGITS = 3
_SHORT_CODE_MAX_DIGITS = 6
_FIXED_LINE_TYPES = frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def _service_description(code: str) -> str | None:
    """What a service code is, or None if the digits are not a service code at all."""
    if not _SHORT_CODE_MIN_DIGITS <= len(code) <= _SHORT_CODE_MAX_DIGITS:
        return None
    known = OFFICIAL_SHORT_CODES.get(code)
    if known is not None:
        return known
    for pattern, category in _SERVICE_CODE_CATEGORIES:
        if pattern.fullmatch(code):
            return category
    return None


@functools.lru_cache(maxsize=4096)
def _area_name_if_real(area: str) -> tuple[bool, str | None]:
    """Whether digits are a CN area code (probed with a typical local number), and its name."""
    if not _AREA_CODE_SHAPE.fullmatch(area):
        return False, None
    for local_number in ("68888888", "6888888"):
        probe = PhoneNumber(country_code=_CN_CALLING_CODE, national_number=int(area + local_number))
        if phonenumbers.number_type(probe) == PhoneNumberType.FIXED_LINE:
            return True, _clean_area_name(geocoder.description_for_valid_number(probe, "en"))
    return False, None


def _clean_area_name(description: str) -> str | None:
    """The geocoder falls back to the country name, which names no area."""
    return description if description and description != "China" else None


def _invalid_key(digits: str, has_plus: bool) -> str:
    return "invalid:" + ("+" if has_plus else "") + digits


def _region(country_code: int) -> str | None:
    region = phonenumbers.region_code_for_country_code(country_code)
    return region if region not in ("ZZ", "001") else None


def _short_code_info(
    raw: str, code: str, *, area: str | None = None, area_name: str | None = None
) -> PhoneInfo:
    """A service code in a form it genuinely arrives in."""
    return PhoneInfo(
        original=raw,
        key=f"+{_CN_CALLING_CODE}{area or ''}{code}",
        kind=NumberKind.SHORT_SERVICE,
        valid=True,
        country="CN",
        operator=None,
        area=area,
        area_name=area_name,
        service=_service_description(code),
        official=code in OFFICIAL_SHORT_CODES,
        spoofed=False,
    )


def _spoofed_info(
    raw: str,
    digits: str,
    has_plus: bool,
    code: str,
    *,
    country: str | None,
    area: str | None = None,
    area_name: str | None = None,
) -> PhoneInfo:
    """A service code in a form no genuine one arrives in; keyed apart from the real line."""
    return PhoneInfo(
        original=raw,
        key=_invalid_key(digits, has_plus),
        kind=NumberKind.SHORT_SERVICE,
        valid=False,
        country=country,
        operator=None,
        area=area,
        area_name=area_name,
        service=_service_description(code),
        official=False,
        spoofed=True,
    )


def _invalid_info(raw: str, digits: str, has_plus: bool, country: str | None) -> PhoneInfo:
    return PhoneInfo(
        original=raw,
        key=_invalid_key(digits, has_plus),
        kind=NumberKind.INVALID,
        valid=False,
        country=country,
        operator=None,
        area=None,
        area_name=None,
        service=None,
        official=False,
        spoofed=False,
    )


def _domestic_service_code(
    raw: str, digits: str, has_plus: bool, national: str
) -> PhoneInfo | None:
    """Recognize a CN service code given the digits after the country code (if any)."""
    if _service_description(national) is not None:
        return _short_code_info(raw, national)
    trunkless = national.removeprefix("0")
    for area_length in (2, 3):
        area, code = trunkless[:area_length], trunkless[area_length:]
        if _service_description(code) is None:
            continue
        is_area, area_name = _area_name_if_real(area)
        if not is_area:
            continue
        if code.startswith(_CITY_LEVEL_PREFIX):
            return _short_code_info(raw, code, area=area, area_name=area_name)
        return _spoofed_info(
            raw, digits, has_plus, code, country="CN", area=area, area_name=area_name
        )
    return None


def _parses_as_valid(international: str) -> bool:
    try:
        number = phonenumbers.parse("+" + international, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(number) != PhoneNumberType.UNKNOWN


def _foreign_service_code(
    raw: str, digits: str, has_plus: bool, international: str
) -> PhoneInfo | None:
    """A CN service code behind a foreign country code, unless that is a real foreign number."""
    try:
        number = phonenumbers.parse("+" + international, None)
    except phonenumbers.NumberParseException:
        return None
    national = phonenumbers.national_significant_number(number)
    if (
        number.country_code != _CN_CALLING_CODE
        and _service_description(national) is not None
        and phonenumbers.number_type(number) == PhoneNumberType.UNKNOWN
    ):
        return _spoofed_info(
            raw, digits, has_plus, national, country=_region(number.country_code or 0)
        )
    return None


def _classify_service_code(raw: str, digits: str, has_plus: bool) -> PhoneInfo | None:
    """Short codes and their spoofed forms; None when the number is not one (the common case)."""
    if has_plus or digits.startswith("00"):
        international = digits if has_plus else digits[2:]
        if _service_description(international) is not None and not _parses_as_valid(international):
            return _spoofed_info(raw, digits, has_plus, international, country=None)
        if international.startswith(_CN_CALLING_DIGITS):
            return _domestic_service_code(raw, digits, has_plus, international[2:])
        if len(international) <= _MAX_COUNTRY_CODE_DIGITS + _SHORT_CODE_MAX_DIGITS:
            return _foreign_service_code(raw, digits, has_plus, international)
        return None
    domestic = _domestic_service_code(raw, digits, has_plus, digits)
    if domestic is None and digits.startswith(_CN_CALLING_DIGITS):
        domestic = _domestic_service_code(raw, digits, has_plus, digits[2:])
    return domestic


def _china_mobile_metadata_pattern() -> re.Pattern[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    mobile_pattern = (
        metadata.mobile.national_number_pattern if metadata and metadata.mobile else None
    )
    return re.compile(mobile_pattern or r"(?!)")


# The library's own CN mobile ranges, matched directly: the general number_type() walks every
# number type first (tests prove the two agree on 1[3-9] numbers).
_CN_MOBILE_RANGES = _china_mobile_metadata_pattern()


# The carrier data is keyed by E.164 prefixes of at most CARRIER_LONGEST_PREFIX digits, so a CN
# mobile's operator follows from its first national digits (the number block): looked up once
# per block, of which a city's traffic holds thousands, not once per number (~6 µs each).
_OPERATOR_BLOCK_DIGITS = CARRIER_LONGEST_PREFIX - len(_CN_CALLING_DIGITS)


@functools.lru_cache(maxsize=65_536)
def _china_mobile_operator(block: str) -> str | None:
    """The operator a block of CN mobile numbers was allocated to (any number of it will do)."""
    any_number = int(block.ljust(_CN_MOBILE_DIGITS, "0"))
    number = PhoneNumber(country_code=_CN_CALLING_CODE, national_number=any_number)
    return carrier.name_for_valid_number(number, "en") or None


def _china_mobile_info(raw: str, national: str) -> PhoneInfo:
    return PhoneInfo(
        original=raw,
        key=f"+{_CN_CALLING_CODE}{national}",
        kind=NumberKind.MVNO_MOBILE if national[:3] in _MVNO_PREFIXES else NumberKind.MOBILE,
        valid=True,
        country="CN",
        operator=_china_mobile_operator(national[:_OPERATOR_BLOCK_DIGITS]),
        area=None,
        area_name=None,
        service=None,
        official=False,
        spoofed=False,
    )


def _fast_china_mobile(raw: str, digits: str, has_plus: bool) -> PhoneInfo | None:
    """Skip the full parser (the slowest step) for the bulk of traffic: plain CN mobiles."""
    if has_plus:
        national = digits[2:] if digits.startswith(_CN_CALLING_DIGITS) else ""
    elif digits.startswith("00" + _CN_CALLING_DIGITS):
        national = digits[4:]
    elif len(digits) == 13 and digits.startswith(_CN_CALLING_DIGITS):
        national = digits[2:]
    else:
        national = digits
    if not _NATIONAL_MOBILE.fullmatch(national) or not _CN_MOBILE_RANGES.fullmatch(national):
        return None
    return _china_mobile_info(raw, national)


def _classify_number(raw: str, digits: str, has_plus: bool) -> PhoneInfo:
    """Everything that is not a short code, through the full libphonenumber parser."""
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return _invalid_info(raw, digits, has_plus, country=None)
    number_type = phonenumbers.number_type(number)
    country_code = number.country_code or 0
    if number_type == PhoneNumberType.UNKNOWN:
        return _invalid_info(raw, digits, has_plus, country=_region(country_code))
    national = phonenumbers.national_significant_number(number)
    if country_code == _CN_CALLING_CODE and number_type == PhoneNumberType.MOBILE:
        return _china_mobile_info(raw, national)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if country_code != _CN_CALLING_CODE:
        is_mobile = number_type in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
        return PhoneInfo(
            original=raw,
            key=e164,
            kind=NumberKind.INTERNATIONAL,
            valid=True,
            country=phonenumbers.region_code_for_number(number),
            operator=(carrier.name_for_valid_number(number, "en") or None) if is_mobile else None,
            area=None,
            area_name=None,
            service=None,
            official=False,
            spoofed=False,
        )
    kind = NumberKind.SHORT_SERVICE
    area: str | None = None
    area_name: str | None = None
    service: str | None = None
    if number_type in _FIXED_LINE_TYPES:
        kind = NumberKind.FIXED_LINE
        area = national[:2] if national.startswith(("10", "2")) else national[:3]
        area_name = _clean_area_name(geocoder.description_for_valid_number(number, "en"))
    elif national.startswith(("400", "800")) or number_type == PhoneNumberType.TOLL_FREE:
        kind = NumberKind.SERVICE_400_800
        service = _OFFICIAL_400_800_LINES.get(national, "Company service line (400/800)")
    else:
        service = "Non-geographic service number"
    return PhoneInfo(
        original=raw,
        key=e164,
        kind=kind,
        valid=True,
        country="CN",
        operator=None,
        area=area,
        area_name=area_name,
        service=service,
        official=national in _OFFICIAL_400_800_LINES,
        spoofed=False,
    )


def _digits_of(raw: str) -> str:
    """ASCII digits of raw; the library's normalizer (full-width, Arabic-Indic) only when needed."""
    if raw.isascii():
        return _NOT_ASCII_DIGIT.sub("", raw)
    return phonenumbers.normalize_digits_only(raw)


@functools.lru_cache(maxsize=262_144)
def classify(raw: str) -> PhoneInfo:
    """Classify a number as delivered; never raises, so one bad field cannot stop a worker."""
    digits = ""
    has_plus = False
    try:
        digits = _digits_of(raw)
        first = _FIRST_DIGIT_OR_PLUS.search(raw)
        has_plus = first is not None and first.group() in "+＋"
        if _PLAIN_NUMBER.fullmatch(raw):
            info = _fast_china_mobile(raw, digits, has_plus) or _classify_service_code(
                raw, digits, has_plus
            )
            if info is not None:
                return info
        return _classify_number(raw, digits, has_plus)
    except Exception:  # the contract is "never raises": a library surprise is just invalid
        return _invalid_info(str(raw), digits, has_plus, country=None)


_SUBSCRIBER_KINDS = frozenset(
    {
        NumberKind.MOBILE,
        NumberKind.MVNO_MOBILE,
        NumberKind.FIXED_LINE,
        NumberKind.INTERNATIONAL,
    }
)


def subscriber_e164(raw: str) -> str | None:
    """E.164 of a line a person can hold (what victims and callers are keyed by), else None."""
    info = classify(raw)
    return info.e164 if info.kind in _SUBSCRIBER_KINDS else None
