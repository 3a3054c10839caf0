"""GS1 check digits and GS1 Digital Link URIs, in plain Python (no Django).

A GS1 Digital Link URI writes GS1 Application Identifiers (AIs) as a web address:

    https://example.com/01/08931234567897/10/LOT7?7007=250601&linkType=gs1:pip

    stem             https://example.com
    primary key      /01/08931234567897    AI (01): a GTIN
    key qualifier    /10/LOT7              AI (10): a batch
    data attribute   7007=250601           AI (7007): harvested on 1 June 2025
    other parameter  linkType=gs1:pip      not an AI; kept aside for the resolver

`parse_digital_link` reads such a URI under the GS1 syntax rules (GS1 Digital Link URI Syntax
standard, General Specifications) and raises `DigitalLinkError`, in English and Vietnamese, at
the first rule it breaks; the resolver answers 400 with that reason. `generate_digital_link`
writes a URI from AI data, and `to_element_string` gives the data a barcode would carry. Both
directions pass the conformance vectors of the GS1 reference implementation (gs1-syntax-engine).
The AI table is in gs1_ai.py.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from string import ascii_letters, digits
from typing import NamedTuple
from urllib.parse import quote, unquote, unquote_plus

from xaso.lib.gs1_ai import AI_TABLE, CSET_39, CSET_82, RULES, AiSpec, Component

DEFAULT_STEM = "https://id.gs1.org"  # GS1's own resolver: the canonical stem
MAX_URI_LENGTH = 2048  # real links stay under 200 characters; this only stops abuse

# Characters a URI may contain at all (RFC 3986), and those of them a domain name may not.
_URI_CHARACTERS = frozenset(ascii_letters + digits + "-._~:/?#[]@!$&'()*+,;=%")
_BAD_DOMAIN_CHARACTERS = frozenset("_~?#@!$&'()*+,;=%")
_MALFORMED_ESCAPE = re.compile("%(?![0-9A-Fa-f]{2})")


class Element(NamedTuple):
    """One AI and its value, e.g. Element("10", "LOT7")."""

    ai: str
    value: str


@dataclass(frozen=True)
class DigitalLink:
    stem: str  # everything before the primary key, e.g. "https://example.com/some/path"
    primary_key: Element
    qualifiers: tuple[Element, ...]  # path elements after the key, in path order
    attributes: tuple[Element, ...]  # AIs from the query string, in the order given
    other_params: tuple[tuple[str, str], ...]  # non-AI query parameters, e.g. linkType

    @property
    def elements(self) -> tuple[Element, ...]:
        return (self.primary_key, *self.qualifiers, *self.attributes)

    def value_of(self, ai: str) -> str | None:
        return next((value for key, value in self.elements if key == ai), None)

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.other_params if key == name), None)

    def to_uri(self, stem: str | None = None) -> str:
        """The link rewritten the GS1 way (other parameters left out), under another stem."""
        path = (self.primary_key, *self.qualifiers)
        return _write_uri(stem or self.stem, path, self.attributes)


# --- Errors --------------------------------------------------------------------------------

_MESSAGES = {
    "uri_too_long": (
        "The URI is {length} characters long; the limit is {limit}.",
        "Đường dẫn dài {length} ký tự, vượt quá giới hạn {limit} ký tự.",
    ),
    "bad_uri_character": (
        "The URI contains {char}, which may not appear in a URI unencoded.",
        "Đường dẫn chứa ký tự {char}, ký tự này không được xuất hiện trong đường dẫn.",
    ),
    "bad_scheme": (
        "A Digital Link starts with http:// or https:// (all lower or all upper case).",
        "Digital Link phải bắt đầu bằng http:// hoặc https:// (viết thường hoặc viết hoa).",
    ),
    "bad_domain": (
        "The domain name is missing or contains a character a domain may not have.",
        "Thiếu tên miền, hoặc tên miền chứa ký tự không hợp lệ.",
    ),
    "no_primary_key": (
        "No GS1 primary key was found in the path (for example /01/ followed by a GTIN).",
        "Không tìm thấy khóa chính GS1 trong đường dẫn (ví dụ /01/ rồi đến mã GTIN).",
    ),
    "no_primary_key_in_data": (
        "The AI data has no GS1 primary key (such as (01), a GTIN) to build a link on.",
        "Dữ liệu AI không có khóa chính GS1 (ví dụ (01) là mã GTIN) để tạo đường dẫn.",
    ),
    "bad_ai_data": (
        "The AI data is not written as (AI)value(AI)value…",
        "Dữ liệu AI không viết theo dạng (AI)giá trị(AI)giá trị…",
    ),
    "unknown_ai": (
        "({ai}) is not a GS1 Application Identifier that this system knows.",
        "({ai}) không phải là mã định danh ứng dụng (AI) GS1 mà hệ thống biết.",
    ),
    "empty_value": ("AI ({ai}) has no value.", "AI ({ai}) không có giá trị."),
    "bad_percent_encoding": (
        "The value of AI ({ai}) has a % that is not followed by two hexadecimal digits.",
        "Giá trị của AI ({ai}) có dấu % không đi kèm hai chữ số thập lục phân.",
    ),
    "bad_character": (
        "The value of AI ({ai}) contains {char}, which GS1 does not allow there.",
        "Giá trị của AI ({ai}) chứa ký tự {char}, GS1 không cho phép ký tự này ở đây.",
    ),
    "bad_length": (
        "The value of AI ({ai}) has {length} characters, which does not fit its format {format}.",
        "Giá trị của AI ({ai}) có {length} ký tự, không khớp với định dạng {format}.",
    ),
    "not_numeric": (
        "The value of AI ({ai}) must be digits where its format {format} says N.",
        "Giá trị của AI ({ai}) phải là chữ số ở phần N của định dạng {format}.",
    ),
    "bad_check_digit": (
        "The {title} in AI ({ai}) fails its check: it should end in {expected}.",
        "Mã {title} ở AI ({ai}) sai số kiểm tra: phần cuối đúng phải là {expected}.",
    ),
    "bad_content": (
        "The value of AI ({ai}) is not {rule}.",
        "Giá trị của AI ({ai}) không phải là {rule_vi}.",
    ),
    "bad_qualifiers": (
        "The path {given} is not a valid key and qualifier sequence: after ({key}) may come "
        "{allowed}.",
        "Chuỗi {given} trong đường dẫn không hợp lệ: sau khóa ({key}) chỉ có thể là {allowed_vi}.",
    ),
    "duplicate_ai": ("AI ({ai}) appears more than once.", "AI ({ai}) xuất hiện nhiều lần."),
    "conflicting_values": (
        "AI ({ai}) is given twice with different values.",
        "AI ({ai}) được cho hai lần với hai giá trị khác nhau.",
    ),
    "not_a_data_attribute": (
        "AI ({ai}) may not be a data attribute in the query string of a Digital Link.",
        "AI ({ai}) không được dùng làm thuộc tính dữ liệu trong chuỗi truy vấn của Digital Link.",
    ),
    "belongs_in_path": (
        "AI ({ai}) qualifies the key ({key}), so it belongs in the path, not the query string.",
        "AI ({ai}) là thành phần phụ của khóa ({key}) nên phải nằm trong đường dẫn, "
        "không nằm trong chuỗi truy vấn.",
    ),
    "missing_requisite": (
        "AI ({ai}) needs one of {options} with it.",
        "AI ({ai}) phải đi kèm một trong các AI {options}.",
    ),
    "invalid_pair": (
        "AI ({ai}) may not be used together with AI ({other}).",
        "AI ({ai}) không được dùng cùng với AI ({other}).",
    ),
}


class DigitalLinkError(ValueError):
    """AI data or a Digital Link URI that breaks a GS1 rule.

    `code` names the rule for programs; `message` (also str(error)) says it in English and
    `message_vi` in Vietnamese, for the people who scan and print.
    """

    def __init__(self, code: str, **details):
        english, vietnamese = _MESSAGES[code]
        self.code = code
        self.details = details
        self.message = english.format(**details)
        self.message_vi = vietnamese.format(**details)
        super().__init__(self.message)


def _shown(char: str) -> str:
    """A character for an error message: itself when visible ("«Ô»"), else its code point."""
    return f"«{char}»" if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"


# --- Check digits and dates ----------------------------------------------------------------


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit alone also accepts "²" and "٣"


def gtin_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit of `digits` (a key without its check digit).

    Weights 3, 1, 3, … from the right. GTIN, GLN, SSCC, GSRN, GDTI and every other numeric GS1
    key use this same rule.
    """
    if not _is_digits(digits):
        raise ValueError(f"not digits: {digits!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return -total % 10


def is_valid_gtin(value: str) -> bool:
    """True for a GTIN-8, -12, -13 or -14 whose last digit is its check digit."""
    return (
        isinstance(value, str)
        and len(value) in (8, 12, 13, 14)
        and _is_digits(value)
        and gtin_check_digit(value[:-1]) == int(value[-1])
    )


def to_gtin14(value: str) -> str:
    """A valid GTIN-8/12/13/14 as the 14 digits that AI (01) and Digital Link require."""
    if not is_valid_gtin(value):
        raise ValueError(f"not a valid GTIN: {value!r}")
    return value.zfill(14)


_CHECK_PAIR_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_CSET_82_ORDER = "".join(sorted(CSET_82))  # a character's value is its position in CSET 82
_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83)


def check_character_pair(body: str) -> str:
    """The two check characters that end an alphanumeric key such as a GMN (AI 8013).

    General Specifications 7.9.5: weigh each character's CSET 82 value by the primes 2, 3, 5, …
    from the right, take the sum modulo 1021, and write it as two base-32 characters.
    """
    if not 0 < len(body) <= len(_PRIMES) or not set(body) <= CSET_82:
        raise ValueError(f"cannot compute a check pair for {body!r}")
    weights = _PRIMES[: len(body)][::-1]
    total = sum(_CSET_82_ORDER.index(char) * w for char, w in zip(body, weights, strict=True))
    total %= 1021
    return _CHECK_PAIR_ALPHABET[total // 32] + _CHECK_PAIR_ALPHABET[total % 32]


def gs1_date(yymmdd: str, *, today: date | None = None) -> date:
    """A YYMMDD value as a date; day 00 is refused (it means a whole month).

    GS1 picks the century that puts the year between 49 years before and 50 years after the
    current year (General Specifications 7.12), so "00" is 2000 and "99" is 1999 in 2025.
    """
    if len(yymmdd) != 6 or not _is_digits(yymmdd):
        raise ValueError(f"not YYMMDD: {yymmdd!r}")
    this_year = (today or date.today()).year
    century = this_year - this_year % 100
    year = century + int(yymmdd[:2])
    if year - this_year > 50:
        year -= 100
    elif this_year - year >= 50:
        year += 100
    return date(year, int(yymmdd[2:4]), int(yymmdd[4:6]))  # raises ValueError when impossible


def _rule_holds(rule: str, text: str) -> bool:
    try:
        if rule == "date_or_day_00" and text[4:] == "00":
            return 1 <= int(text[2:4]) <= 12
        if rule in ("date", "date_or_day_00", "date_hour"):
            gs1_date(text[:6])  # raises ValueError for 31 April and the like
            return rule != "date_hour" or int(text[6:]) <= 23
        if rule == "time":
            return int(text[:2]) <= 23 and int(text[2:]) <= 59
        if rule == "zero":
            return text == "0"
        if rule == "piece_of_total":
            return 1 <= int(text[:2]) <= int(text[2:])
    except ValueError:
        return False
    raise AssertionError(f"no check written for rule {rule!r}")


# --- One AI value --------------------------------------------------------------------------


def validate_element(ai: str, value: str) -> AiSpec:
    """Check one AI value against the table (format, characters, check digits, dates)."""
    spec = AI_TABLE.get(ai)
    if spec is None:
        raise DigitalLinkError("unknown_ai", ai=ai)
    if not value:
        raise DigitalLinkError("empty_value", ai=ai)
    bad = next((char for char in value if char not in CSET_82), None)  # N and Y are subsets
    if bad is not None:
        raise DigitalLinkError("bad_character", ai=ai, char=_shown(bad))
    for component, text in _split_components(spec, value):
        _validate_component(spec, component, text)
    return spec


def _split_components(spec: AiSpec, value: str) -> list[tuple[Component, str]]:
    """Cut a value into its format's components; only the last may vary in length."""
    parts, position = [], 0
    for index, component in enumerate(spec.components):
        remaining = len(value) - position
        if remaining == 0 and component.optional:
            break
        is_last = index == len(spec.components) - 1
        length = remaining if is_last else component.max_length
        if not component.min_length <= length <= min(remaining, component.max_length):
            raise DigitalLinkError("bad_length", ai=spec.ai, length=len(value), format=spec.format)
        parts.append((component, value[position : position + length]))
        position += length
    return parts


def _validate_component(spec: AiSpec, component: Component, text: str) -> None:
    if component.charset == "N" and not _is_digits(text):
        raise DigitalLinkError("not_numeric", ai=spec.ai, format=spec.format)
    if component.charset == "Y" and not set(text) <= CSET_39:
        bad = next(char for char in text if char not in CSET_39)
        raise DigitalLinkError("bad_character", ai=spec.ai, char=_shown(bad))
    if component.rule == "check":
        expected = str(gtin_check_digit(text[:-1]))
        if text[-1] != expected:
            raise DigitalLinkError(
                "bad_check_digit", ai=spec.ai, title=spec.title, expected=expected
            )
    elif component.rule == "check_pair":
        expected = check_character_pair(text[:-2]) if len(text) > 2 else "??"
        if text[-2:] != expected:
            raise DigitalLinkError(
                "bad_check_digit", ai=spec.ai, title=spec.title, expected=expected
            )
    elif component.rule and not _rule_holds(component.rule, text):
        english, vietnamese = RULES[component.rule]
        raise DigitalLinkError("bad_content", ai=spec.ai, rule=english, rule_vi=vietnamese)


# --- Rules over the whole message ----------------------------------------------------------


def _matches(pattern: str, ai: str) -> bool:
    """True when an AI fits a pattern where "n" stands for any digit, e.g. "31nn"."""
    return len(pattern) == len(ai) and all(p in ("n", a) for p, a in zip(pattern, ai, strict=True))


def check_associations(elements: Iterable[Element]) -> None:
    """Mandatory and forbidden AI pairings (General Specifications 4.14), e.g. (10) needs a
    (01) or another AI that says what the batch is of; (21) and (235) exclude each other."""
    present = [ai for ai, _value in elements]
    for ai in present:
        spec = AI_TABLE[ai]
        others = [other for other in present if other != ai]
        for group in spec.requires:
            if not any(_matches(pattern, other) for pattern in group for other in others):
                options = " / ".join(f"({pattern})" for pattern in group)
                raise DigitalLinkError("missing_requisite", ai=ai, options=options)
        for pattern in spec.excludes:
            clash = next((other for other in others if _matches(pattern, other)), None)
            if clash is not None:
                raise DigitalLinkError("invalid_pair", ai=ai, other=clash)


def _is_valid_path(key: AiSpec, qualifiers: list[str]) -> bool:
    """True when the qualifiers follow one of the key's qualifier paths, in its order."""
    return not qualifiers or any(_in_order(qualifiers, path) for path in key.qualifier_paths)


def _in_order(items: list[str], sequence: tuple[str, ...]) -> bool:
    """True when every item is in `sequence` and they come in the sequence's order."""
    if not set(items) <= set(sequence):
        return False
    positions = [sequence.index(item) for item in items]
    return positions == sorted(set(positions))


def _path_rule(key: AiSpec) -> tuple[str, str]:
    """What may follow a key in the path, in English and Vietnamese, for error messages."""
    if not key.qualifier_paths:
        return "nothing", "không có thành phần nào"
    paths = [" ".join(f"({ai})" for ai in path) for path in key.qualifier_paths]
    return (
        " or ".join(paths) + ", in that order, each optional",
        " hoặc ".join(paths) + ", theo đúng thứ tự đó, mỗi thành phần có thể bỏ qua",
    )


# --- Parsing a URI -------------------------------------------------------------------------


def parse_digital_link(uri: str) -> DigitalLink:
    """Read a GS1 Digital Link URI; raise DigitalLinkError at the first GS1 rule it breaks."""
    if len(uri) > MAX_URI_LENGTH:
        raise DigitalLinkError("uri_too_long", length=len(uri), limit=MAX_URI_LENGTH)
    bad = next((char for char in uri if char not in _URI_CHARACTERS), None)
    if bad is not None:
        raise DigitalLinkError("bad_uri_character", char=_shown(bad))
    # Scheme in one case only: "HtTp://" is refused, as the reference implementation does.
    scheme = next((s for s in ("https://", "http://") if uri[: len(s)] in (s, s.upper())), None)
    if scheme is None:
        raise DigitalLinkError("bad_scheme")
    path_start = uri.find("/", len(scheme))
    domain = uri[len(scheme) : path_start]
    if path_start < 0 or not domain or not _BAD_DOMAIN_CHARACTERS.isdisjoint(domain):
        raise DigitalLinkError("bad_domain")

    path, _, query = uri[path_start:].split("#", 1)[0].partition("?")
    segments = path.split("/")[1:]
    key_index = _primary_key_index(segments)
    path_elements = [
        _decoded_element(segments[i], segments[i + 1], in_query=False)
        for i in range(key_index, len(segments), 2)
    ]
    attributes, other_params = _read_query(query)

    key, qualifiers = path_elements[0], path_elements[1:]
    key_spec = AI_TABLE[key.ai]
    if not _is_valid_path(key_spec, [q.ai for q in qualifiers]):
        allowed, allowed_vi = _path_rule(key_spec)
        given = " ".join(f"({ai})" for ai, _value in path_elements)
        raise DigitalLinkError(
            "bad_qualifiers", given=given, key=key.ai, allowed=allowed, allowed_vi=allowed_vi
        )
    _check_attributes(key_spec, path_elements, attributes)
    check_associations([*path_elements, *attributes])
    return DigitalLink(
        stem=uri[:path_start] + "".join("/" + s for s in segments[:key_index]),
        primary_key=key,
        qualifiers=tuple(qualifiers),
        attributes=tuple(attributes),
        other_params=tuple(other_params),
    )


def _primary_key_index(segments: list[str]) -> int:
    """Where the primary key AI sits among the path segments.

    The path is read in /AI/value pairs from its end, so any stem may come before the key
    (https://example.com/some/path/01/…). The walk stops at the first AI that is a primary key
    and gives up at the first segment that is not a known AI.
    """
    for index in range(len(segments) - 2, -1, -2):
        spec = AI_TABLE.get(segments[index])
        if spec is None and _is_digits(segments[index]) and 2 <= len(segments[index]) <= 4:
            raise DigitalLinkError("unknown_ai", ai=segments[index])  # shaped like an AI
        if spec is None:
            break
        if spec.primary_key:
            return index
    raise DigitalLinkError("no_primary_key")


def _decoded_element(ai: str, raw: str, *, in_query: bool) -> Element:
    """Percent-decode and validate one value; "+" means a space only in the query string."""
    if not raw:
        raise DigitalLinkError("empty_value", ai=ai)
    if _MALFORMED_ESCAPE.search(raw):
        raise DigitalLinkError("bad_percent_encoding", ai=ai)
    value = unquote(raw.replace("+", " ") if in_query else raw, errors="replace")
    validate_element(ai, value)
    return Element(ai, value)


def _read_query(query: str) -> tuple[list[Element], list[tuple[str, str]]]:
    """Split the query string into AI attributes and other parameters (such as linkType).

    A parameter whose name is all digits must be a known AI; other names are kept as they are.
    """
    attributes, other_params = [], []
    for part in query.split("&"):
        name, has_value, raw = part.partition("=")
        if has_value and _is_digits(name):
            if name not in AI_TABLE:
                raise DigitalLinkError("unknown_ai", ai=name)
            attributes.append(_decoded_element(name, raw, in_query=True))
        elif part:
            other_params.append((unquote_plus(name), unquote_plus(raw)))
    return attributes, other_params


def _check_attributes(key: AiSpec, path: list[Element], attributes: list[Element]) -> None:
    qualifiers = {ai for ai, _value in path[1:]}
    seen = {ai for ai, _value in path}
    for ai, _value in attributes:
        if ai in seen:
            raise DigitalLinkError("duplicate_ai", ai=ai)
        seen.add(ai)
        if not AI_TABLE[ai].data_attribute:
            raise DigitalLinkError("not_a_data_attribute", ai=ai)
        # A qualifier that could join the path's qualifiers must be written in the path; one of
        # another qualifier path may stay here: /01/…/235/…?10=… is fine.
        if any(ai in alt and qualifiers <= set(alt) for alt in key.qualifier_paths):
            raise DigitalLinkError("belongs_in_path", ai=ai, key=key.ai)


# --- Element strings -----------------------------------------------------------------------


def to_element_string(data: DigitalLink | Iterable[tuple[str, str]]) -> str:
    """The AI data as a barcode carries it, with "^" for FNC1.

    FNC1 starts the data and follows every value whose AI has no predefined length, unless
    that value is the last: "^0109520123456788" + "10ABC1" + "^" + "2112345".
    """
    elements = data.elements if isinstance(data, DigitalLink) else list(data)
    text, separator_due = "^", False
    for ai, value in elements:
        spec = AI_TABLE.get(ai)
        text += ("^" if separator_due else "") + ai + value
        separator_due = spec is None or spec.needs_fnc1
    return text


def parse_bracketed(text: str) -> list[Element]:
    """AI data written as "(01)09520123456788(10)ABC"; a "(" inside a value is written "\\("."""
    elements, position = [], 0
    while position < len(text):
        close = text.find(")", position)
        ai = text[position + 1 : close]
        if text[position] != "(" or close < 0 or not _is_digits(ai):
            raise DigitalLinkError("bad_ai_data")
        end = close + 1
        while (end := text.find("(", end)) > 0 and text[end - 1] == "\\":
            end += 1
        end = len(text) if end < 0 else end
        elements.append(Element(ai, text[close + 1 : end].replace("\\(", "(")))
        position = end
    return elements


def to_bracketed(elements: Iterable[tuple[str, str]]) -> str:
    """The human-readable form printed under a barcode, e.g. "(01)08931234567897(10)LOT7"."""
    return "".join(f"({ai})" + value.replace("(", "\\(") for ai, value in elements)


# --- Writing a URI -------------------------------------------------------------------------


def generate_digital_link(elements: Iterable[tuple[str, str]], *, stem: str | None = None) -> str:
    """Write AI data as a Digital Link URI under `stem` (GS1's resolver when None).

    The first primary key in the data becomes the path, with as many of its qualifiers as the
    data holds; every other AI goes to the query string. A repeated AI with the same value is
    written once. Raises DigitalLinkError when the data breaks a GS1 rule.
    """
    data = _distinct(elements)
    for ai, value in data:
        validate_element(ai, value)
    check_associations(data)
    key = next((e for e in data if AI_TABLE[e.ai].primary_key), None)
    if key is None:
        raise DigitalLinkError("no_primary_key_in_data")
    present = {ai: value for ai, value in data}
    qualifiers = _longest_qualifier_path(AI_TABLE[key.ai], present)
    in_path = [key.ai, *qualifiers]
    # Attributes of predefined length first, each group in the order given: the element string
    # then needs fewer FNC1s, and the GS1 reference implementation writes links this way.
    attributes = sorted((e for e in data if e.ai not in in_path), key=_needs_fnc1)
    for ai, _value in attributes:
        if not AI_TABLE[ai].data_attribute:
            raise DigitalLinkError("not_a_data_attribute", ai=ai)

    path = [Element(ai, present[ai]) for ai in in_path]
    return _write_uri(stem or DEFAULT_STEM, path, attributes)


def _write_uri(stem: str, path: Iterable[Element], attributes: Iterable[Element]) -> str:
    # Everything but A-Z a-z 0-9 - . _ ~ is percent-encoded, "+" and "/" included.
    uri = stem.removesuffix("/") + "".join(f"/{ai}/{quote(value, safe='')}" for ai, value in path)
    query = "&".join(f"{ai}={quote(value, safe='')}" for ai, value in attributes)
    return f"{uri}?{query}" if query else uri


def _needs_fnc1(element: Element) -> bool:
    return AI_TABLE[element.ai].needs_fnc1


def _distinct(elements: Iterable[tuple[str, str]]) -> list[Element]:
    values: dict[str, str] = {}
    for ai, value in elements:
        if values.setdefault(ai, value) != value:
            raise DigitalLinkError("conflicting_values", ai=ai)
    return [Element(ai, value) for ai, value in values.items()]


def _longest_qualifier_path(key: AiSpec, present: dict[str, str]) -> list[str]:
    """The key's qualifier path that takes the most of the data; on a tie the first listed."""
    best: list[str] = []
    for path in key.qualifier_paths:
        filled = [ai for ai in path if ai in present]
        if len(filled) > len(best):
            best = filled
    return best


def uppercase_uri(uri: str) -> str:
    """The same link in capital letters, for a smaller QR code.

    A QR code stores capitals, digits and a few symbols in its compact alphanumeric mode but
    not lower-case letters. Only the scheme, the domain and %-escapes ignore case, so the rest
    of the link must already be in capitals; otherwise this raises ValueError.
    """
    scheme_end = uri.find("://")
    domain_end = uri.find("/", scheme_end + 3)
    if scheme_end < 0 or domain_end < 0:
        raise ValueError(f"not an http(s) link: {uri!r}")
    rest = re.sub("%[0-9a-f]{2}", lambda m: m.group().upper(), uri[domain_end:], flags=re.I)
    if rest != rest.upper():
        raise ValueError(f"upper-casing would change the path or query of {uri!r}")
    return uri[:domain_end].upper() + rest
