"""Number intelligence on real delivered formats: kinds, keys, operators, areas, spoofed forms."""

from __future__ import annotations

import dataclasses
import random

import phonenumbers
import pytest
from phonenumbers import carrier

from antifraud import phones
from antifraud.phones import (
    OFFICIAL_SHORT_CODES,
    NumberKind,
    PhoneInfo,
    classify,
    subscriber_e164,
)

K = NumberKind

KIND_AND_KEY_CASES: list[tuple[str, NumberKind, str]] = [
    # CN mobiles, every delivery format
    ("13812345678", K.MOBILE, "+8613812345678"),
    ("138 1234 5678", K.MOBILE, "+8613812345678"),
    ("138-1234-5678", K.MOBILE, "+8613812345678"),
    ("138.1234.5678", K.MOBILE, "+8613812345678"),
    ("+86 138 1234 5678", K.MOBILE, "+8613812345678"),
    ("+86-13812345678", K.MOBILE, "+8613812345678"),
    ("+8613812345678", K.MOBILE, "+8613812345678"),
    ("0086 13812345678", K.MOBILE, "+8613812345678"),
    ("008613812345678", K.MOBILE, "+8613812345678"),
    ("8613812345678", K.MOBILE, "+8613812345678"),
    (" 13812345678 ", K.MOBILE, "+8613812345678"),
    ("17951 13812345678", K.MOBILE, "+8613812345678"),  # IP-call prefix stripped
    ("tel:+8613812345678", K.MOBILE, "+8613812345678"),
    ("１３８１２３４５６７８", K.MOBILE, "+8613812345678"),
    ("＋８６ １３８ １２３４ ５６７８", K.MOBILE, "+8613812345678"),
    ("14512345678", K.MOBILE, "+8614512345678"),
    # virtual-operator ranges
    ("17012345678", K.MVNO_MOBILE, "+8617012345678"),
    ("+86 171 2345 6789", K.MVNO_MOBILE, "+8617123456789"),
    ("162-1234-5678", K.MVNO_MOBILE, "+8616212345678"),
    ("0086 165 1234 5678", K.MVNO_MOBILE, "+8616512345678"),
    ("16712345678", K.MVNO_MOBILE, "+8616712345678"),
    # fixed lines
    ("010-12345678", K.FIXED_LINE, "+861012345678"),
    ("(010) 1234 5678", K.FIXED_LINE, "+861012345678"),
    ("+86 (0)10 12345678", K.FIXED_LINE, "+861012345678"),
    ("(0755) 8888 8888", K.FIXED_LINE, "+8675588888888"),
    ("021 6888 8888", K.FIXED_LINE, "+862168888888"),
    ("+86 21 68888888", K.FIXED_LINE, "+862168888888"),
    ("0571-87654321", K.FIXED_LINE, "+8657187654321"),
    ("8602168888888", K.FIXED_LINE, "+862168888888"),
    ("０１０－１２３４５６７８", K.FIXED_LINE, "+861012345678"),
    # 400 / 800
    ("400-810-8888", K.SERVICE_400_800, "+864008108888"),
    ("4008108888", K.SERVICE_400_800, "+864008108888"),
    ("800 820 8888", K.SERVICE_400_800, "+868008208888"),
    ("+86 400 669 5566", K.SERVICE_400_800, "+864006695566"),
    # short service codes in genuine form
    ("95588", K.SHORT_SERVICE, "+8695588"),
    ("+86 95588", K.SHORT_SERVICE, "+8695588"),
    ("0086 95588", K.SHORT_SERVICE, "+8695588"),
    ("10086", K.SHORT_SERVICE, "+8610086"),
    ("110", K.SHORT_SERVICE, "+86110"),
    ("96110", K.SHORT_SERVICE, "+8696110"),
    ("0571-96110", K.SHORT_SERVICE, "+8657196110"),
    ("95123", K.SHORT_SERVICE, "+8695123"),
    # spoofed forms are keyed apart from the genuine line
    ("+1 95588", K.SHORT_SERVICE, "invalid:+195588"),
    ("+95588", K.SHORT_SERVICE, "invalid:+95588"),
    ("010-95588", K.SHORT_SERVICE, "invalid:01095588"),
    # international
    ("+95 9 250 123 456", K.INTERNATIONAL, "+959250123456"),
    ("00639171234567", K.INTERNATIONAL, "+639171234567"),
    ("+1 650 253 0000", K.INTERNATIONAL, "+16502530000"),
    ("+44 20 7946 0958", K.INTERNATIONAL, "+442079460958"),
    ("+855 12 345 678", K.INTERNATIONAL, "+85512345678"),
    ("+852 9123 4567", K.INTERNATIONAL, "+85291234567"),
    # invalid / impossible
    ("", K.INVALID, "invalid:"),
    ("   ", K.INVALID, "invalid:"),
    ("abc", K.INVALID, "invalid:"),
    ("123", K.INVALID, "invalid:123"),
    ("+86 123", K.INVALID, "invalid:+86123"),
    ("0000000000", K.INVALID, "invalid:0000000000"),
    ("+999 1234", K.INVALID, "invalid:+9991234"),
    ("+95 9 123 456 789", K.INVALID, "invalid:+959123456789"),
    ("+86 138 1234 567", K.INVALID, "invalid:+861381234567"),
    ("138123456789", K.INVALID, "invalid:138123456789"),
    ("11012345678", K.INVALID, "invalid:11012345678"),
    ("95588abc", K.INVALID, "invalid:95588"),
]


@pytest.mark.parametrize(("raw", "kind", "key"), KIND_AND_KEY_CASES)
def test_kind_and_key(raw: str, kind: NumberKind, key: str) -> None:
    info = classify(raw)
    assert (info.kind, info.key) == (kind, key)
    assert info.original == raw


@pytest.mark.parametrize(
    ("raw", "operator"),
    [
        ("13812345678", "China Mobile"),
        ("18612345678", "China Unicom"),
        ("18912345678", "China Telecom"),
        ("19212345678", "China Broadnet"),
        ("17001234567", "China Telecom"),  # 1700-1702 hosted by CTCC
        ("17051234567", "China Mobile"),  # 1703/1705/1706 by CMCC
        ("17091234567", "China Unicom"),  # 1704/1707-1709 by CUCC
        ("17112345678", "China Unicom"),
        ("16712345678", "China Unicom"),
        ("16212345678", None),  # the library has no carrier for 162 / 165
        ("16512345678", None),
        ("00639171234567", "Globe"),
        ("+95 9 250 123 456", "MPT"),
        ("010-12345678", None),
    ],
)
def test_operator(raw: str, operator: str | None) -> None:
    assert classify(raw).operator == operator


@pytest.mark.parametrize(
    ("raw", "area", "area_name"),
    [
        ("010-12345678", "10", "Beijing"),
        ("021 6888 8888", "21", "Shanghai"),
        ("(0755) 8888 8888", "755", "Shenzhen, Guangdong"),
        ("0571-87654321", "571", "Hangzhou, Zhejiang"),
        ("+86 20 8888 8888", "20", "Guangzhou, Guangdong"),
        ("13812345678", None, None),  # no geocoding for mobiles
        ("0571-96110", "571", "Hangzhou, Zhejiang"),
        ("0978 6888888", "978", None),  # the geocoder only says "China" here
    ],
)
def test_area(raw: str, area: str | None, area_name: str | None) -> None:
    info = classify(raw)
    assert (info.area, info.area_name, info.country) == (area, area_name, "CN")


@pytest.mark.parametrize(
    ("raw", "service", "official"),
    [
        ("95588", "ICBC customer service", True),
        ("+86 95588", "ICBC customer service", True),
        ("0086 95533", "CCB customer service", True),
        ("110", "Police emergency", True),
        ("+86110", "Police emergency", True),
        ("96110", "Anti-fraud warning centre", True),
        ("(010) 96110", "Anti-fraud warning centre", True),
        ("+86 755 96110", "Anti-fraud warning centre", True),
        ("12381", "MIIT anti-fraud SMS/call warning", True),
        ("10086", "China Mobile", True),
        ("10010", "China Unicom", True),
        ("10000", "China Telecom", True),
        ("12345", "Government service hotline", True),
        ("95123", "Nationwide service number (95)", False),
        ("057196111", "City public-service number (96)", False),
        ("10050", "Carrier service number (100xx)", False),
        ("400-669-5566", "BOC credit card service", True),
        ("400 820 5555", "China Merchants Bank credit card service", True),
        ("400-810-8888", "Company service line (400/800)", False),
        ("800 820 8888", "Company service line (400/800)", False),
    ],
)
def test_service_lines_in_genuine_form(raw: str, service: str, official: bool) -> None:
    info = classify(raw)
    assert (info.service, info.official, info.spoofed, info.valid) == (
        service,
        official,
        False,
        True,
    )


@pytest.mark.parametrize(
    ("raw", "service", "country", "area"),
    [
        ("+1 95588", "ICBC customer service", "US", None),
        ("+44 95588", "ICBC customer service", "GB", None),
        ("0044110", "Police emergency", "GB", None),
        ("00852 95588", "ICBC customer service", "HK", None),
        ("+95588", "ICBC customer service", None, None),  # the library reads +95 (Myanmar) 588
        ("0095588", "ICBC customer service", None, None),
        ("+96110", "Anti-fraud warning centre", None, None),
        ("+10086", "China Mobile", None, None),
        ("+12110", "Police SMS reporting", None, None),
        ("010-95588", "ICBC customer service", "CN", "10"),
        ("+86 10 95588", "ICBC customer service", "CN", "10"),
        ("0311110", "Police emergency", "CN", "311"),
        ("0760-110", "Police emergency", "CN", "760"),
        ("0755 12381", "MIIT anti-fraud SMS/call warning", "CN", "755"),
        ("+86 10 10086", "China Mobile", "CN", "10"),
        ("021 95123", "Nationwide service number (95)", "CN", "21"),
    ],
)
def test_spoofed_forms(raw: str, service: str, country: str | None, area: str | None) -> None:
    info = classify(raw)
    assert info.kind is NumberKind.SHORT_SERVICE
    assert (info.spoofed, info.official, info.valid) == (True, False, False)
    assert (info.service, info.country, info.area) == (service, country, area)
    assert info.key.startswith("invalid:")
    assert info.e164 is None
    assert subscriber_e164(raw) is None


def test_real_foreign_number_that_looks_like_a_code_is_not_a_spoof() -> None:
    info = classify("+290 95588")  # a valid Saint Helena number
    assert (info.kind, info.country, info.spoofed) == (NumberKind.INTERNATIONAL, "SH", False)


@pytest.mark.parametrize("code", sorted(OFFICIAL_SHORT_CODES))
def test_every_official_code_genuine_and_spoofed(code: str) -> None:
    genuine = classify(code)
    assert (genuine.kind, genuine.official, genuine.key) == (K.SHORT_SERVICE, True, f"+86{code}")
    assert classify(f"0086 {code}").key == genuine.key
    for spoofed_form in (f"+{code}", f"+1 {code}", f"0044 {code}"):
        assert classify(spoofed_form).spoofed, spoofed_form
    with_area = classify(f"010-{code}")
    assert with_area.spoofed is not code.startswith("96")
    assert with_area.official is code.startswith("96")


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("+95 9 250 123 456", "MM"),
        ("+95 9 123 456 789", "MM"),  # invalid, but the country is still known
        ("00639171234567", "PH"),
        ("+1 650 253 0000", "US"),
        ("+44 20 7946 0958", "GB"),
        ("+855 97 123 4567", "KH"),
        ("+886 912 345 678", "TW"),
        ("+999 1234", None),
        ("abc", None),
    ],
)
def test_country(raw: str, country: str | None) -> None:
    assert classify(raw).country == country


@pytest.mark.parametrize(
    ("raw", "e164", "subscriber"),
    [
        ("13812345678", "+8613812345678", "+8613812345678"),
        ("17012345678", "+8617012345678", "+8617012345678"),
        ("010-12345678", "+861012345678", "+861012345678"),
        ("00639171234567", "+639171234567", "+639171234567"),
        ("400-810-8888", "+864008108888", None),
        ("95588", None, None),
        ("0571-96110", None, None),
        ("+1 95588", None, None),
        ("+95 9 123 456 789", None, None),
        ("abc", None, None),
    ],
)
def test_e164_and_subscriber(raw: str, e164: str | None, subscriber: str | None) -> None:
    assert classify(raw).e164 == e164
    assert subscriber_e164(raw) == subscriber


@pytest.mark.parametrize("first_digits", [f"1{d}" for d in range(3, 10)])
def test_fast_mobile_path_agrees_with_the_library(first_digits: str) -> None:
    rng = random.Random(first_digits)
    for second in range(100):
        national = f"{first_digits}{second:02d}{rng.randrange(10**7):07d}"
        parsed = phonenumbers.parse(national, "CN")
        library_says_mobile = (
            phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
        )
        info = classify(national)
        assert (info.kind in (K.MOBILE, K.MVNO_MOBILE)) == library_says_mobile, national
        if library_says_mobile:  # the operator, looked up per number block, is the library's
            assert info.operator == (carrier.name_for_valid_number(parsed, "en") or None), national
        # the full-parser path must produce the same answer as the shortcut
        slow = phones._classify_number(national, national, has_plus=False)
        assert slow == info, national


def _random_strings(count: int) -> list[str]:
    rng = random.Random(20240611)
    alphabets = [
        "0123456789",
        "0123456789 +-().",
        "0123456789+",
        "０１２３４５６７８９＋－ ",
        "abcxyz#*;:,0123456789+",
        "٠١٢٣٤٥٦٧٨٩²³",
    ]
    strings = []
    for _ in range(count):
        if rng.random() < 0.15:
            strings.append(
                "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randint(0, 30)))
            )
            continue
        alphabet = rng.choice(alphabets)
        prefix = rng.choice(["", "+", "00", "+86", "0086", "86", "0", "+86 0", "010-"])
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        strings.append(prefix + body)
    return strings


@pytest.mark.parametrize("raw", _random_strings(400))
def test_never_raises_and_stays_consistent(raw: str) -> None:
    info = classify(raw)
    assert isinstance(info, PhoneInfo)
    assert info.original == raw
    assert info.valid is not info.key.startswith("invalid:")
    assert info.key.startswith(("+", "invalid:"))
    assert not (info.official and info.spoofed)
    assert not info.official or info.valid
    assert not info.spoofed or info.kind is NumberKind.SHORT_SERVICE
    assert info.kind is not NumberKind.INVALID or not info.valid
    assert info.e164 in (None, info.key)
    assert subscriber_e164(raw) in (None, info.key)


def test_library_failure_is_an_invalid_number(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_parse(*_args: object, **_kwargs: object) -> phonenumbers.PhoneNumber:
        raise RuntimeError("metadata missing")

    monkeypatch.setattr(phonenumbers, "parse", broken_parse)
    info = classify.__wrapped__("010-12345678")
    assert (info.kind, info.key, info.valid) == (K.INVALID, "invalid:01012345678", False)


def test_classify_is_cached_and_results_are_frozen() -> None:
    first = classify("+86 139 0000 1111")
    assert classify("+86 139 0000 1111") is first
    assert classify.cache_info().maxsize == 262_144
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.kind = NumberKind.INVALID  # type: ignore[misc]


def test_official_short_codes_cannot_be_edited() -> None:
    assert OFFICIAL_SHORT_CODES["95588"] == "ICBC customer service"
    assert OFFICIAL_SHORT_CODES["96110"] == "Anti-fraud warning centre"
    with pytest.raises(TypeError):
        OFFICIAL_SHORT_CODES["95588"] = "Fake bank"  # type: ignore[index]
