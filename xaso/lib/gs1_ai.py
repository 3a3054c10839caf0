"""The GS1 Application Identifier (AI) table, written as data.

Each AI says what a GS1 barcode or Digital Link value means: (01) is a GTIN, (10) a batch,
(7007) a harvest date. The facts come from the GS1 General Specifications (section 3, AI
definitions; section 4.14, mandatory and forbidden AI pairings; figure 7.8.5-2, AIs of
predefined length) and the GS1 Digital Link URI Syntax standard (primary keys and their key
qualifiers). The table covers the AIs a commune's producers and shippers use; an AI missing
here is treated as unknown and refused.

A value format reads like the General Specifications: components joined by " + ", each a
character set and a length, for example "N13:check + [X..17]" for a GDTI:

    N  digits              N14    exactly 14        [..]   optional final component
    X  GS1 CSET 82         X..20  1 to 20           :rule  a content rule, see RULES below
    Y  GS1 CSET 39
"""

from dataclasses import dataclass

# The 82 characters GS1 allows in alphanumeric values (General Specifications figure 7.11-1).
CSET_82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
# The 39 characters of component/part identifiers (CPID, AI 8010).
CSET_39 = frozenset("#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

# Content rules a component may carry, in English and Vietnamese (for error messages).
RULES = {
    "check": ("a GS1 mod-10 check digit", "số kiểm tra mod-10 của GS1"),
    "check_pair": ("a GS1 check character pair", "cặp ký tự kiểm tra của GS1"),
    "date": ("a date YYMMDD", "ngày dạng YYMMDD"),
    "date_or_day_00": (
        "a date YYMMDD (day 00 means the whole month)",
        "ngày dạng YYMMDD (ngày 00 nghĩa là cả tháng)",
    ),
    "time": ("a time HHMM", "giờ dạng HHMM"),
    "date_hour": ("a date and hour YYMMDDHH", "ngày giờ dạng YYMMDDHH"),
    "zero": ("the digit 0", "chữ số 0"),
    "piece_of_total": (
        "a piece number and a total NNTT, with 01 <= piece <= total",
        "số thứ tự kiện và tổng số kiện NNTT, với 01 <= thứ tự <= tổng",
    ),
}

# AIs whose first two digits are in this list have a predefined length, so in a barcode the
# next AI follows without an FNC1 separator (General Specifications figure 7.8.5-2). Note it is
# the prefix that counts: (8018) is fixed-length but still needs the separator.
PREDEFINED_LENGTH_PREFIXES = frozenset(
    ["00", "01", "02", "03", "04"]
    + [str(n) for n in range(11, 21)]
    + ["31", "32", "33", "34", "35", "36", "41"]
)


@dataclass(frozen=True)
class Component:
    charset: str  # "N", "X" or "Y"
    min_length: int
    max_length: int
    optional: bool = False
    rule: str = ""  # a key of RULES, or "" for none


@dataclass(frozen=True)
class AiSpec:
    ai: str
    title: str
    components: tuple[Component, ...]
    primary_key: bool = False
    # Digital Link key qualifiers: alternatives, each an ordered list whose members are each
    # optional, e.g. (01) takes 22 then 10 then 21, or else 235.
    qualifier_paths: tuple[tuple[str, ...], ...] = ()
    # Mandatory associations: for each group, one of its AIs must be present too.
    # "n" in an AI pattern stands for any digit, e.g. "31nn".
    requires: tuple[tuple[str, ...], ...] = ()
    excludes: tuple[str, ...] = ()  # AI patterns that must not appear with this AI
    data_attribute: bool = True  # may appear in a Digital Link query string

    @property
    def needs_fnc1(self) -> bool:
        return self.ai[:2] not in PREDEFINED_LENGTH_PREFIXES

    @property
    def format(self) -> str:
        """The format as the General Specifications print it, e.g. "N13+[X..17]"."""
        return "+".join(_format_component(c) for c in self.components)


def _format_component(component: Component) -> str:
    length = str(component.max_length)
    if component.min_length != component.max_length:
        length = ".." + length
    text = component.charset + length
    return f"[{text}]" if component.optional else text


def _component(text: str) -> Component:
    text = text.strip()
    optional = text.startswith("[")
    text = text.strip("[]")
    text, _, rule = text.partition(":")
    if rule and rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}")
    charset, length = text[0], text[1:]
    if length.startswith(".."):
        return Component(charset, 1, int(length[2:]), optional, rule)
    return Component(charset, int(length), int(length), optional, rule)


def _ai(
    ai: str,
    title: str,
    value_format: str,
    *,
    primary_key: bool = False,
    qualifiers: tuple[str, ...] = (),
    requires: tuple[str, ...] = (),
    excludes: str = "",
    data_attribute: bool = True,
) -> AiSpec:
    """One table row; `qualifiers` and each `requires` group are space-separated AI lists."""
    return AiSpec(
        ai=ai,
        title=title,
        components=tuple(_component(part) for part in value_format.split(" + ")),
        primary_key=primary_key,
        qualifier_paths=tuple(tuple(path.split()) for path in qualifiers),
        requires=tuple(tuple(group.split()) for group in requires),
        excludes=tuple(excludes.split()),
        data_attribute=data_attribute,
    )


TRADE_ITEM = "01 02 8006 8026"  # AIs that identify what a batch or date is about

_ROWS = [
    _ai("00", "SSCC", "N18:check", primary_key=True),
    _ai(
        "01",
        "GTIN",
        "N14:check",
        primary_key=True,
        qualifiers=("22 10 21", "235"),
        excludes="02 255 37",
    ),
    _ai("02", "CONTENT", "N14:check", requires=("37",)),
    _ai("10", "BATCH/LOT", "X..20", requires=(TRADE_ITEM,)),
    _ai("11", "PROD DATE", "N6:date_or_day_00", requires=(TRADE_ITEM,)),
    _ai("12", "DUE DATE", "N6:date_or_day_00", requires=("8020",)),
    _ai("13", "PACK DATE", "N6:date_or_day_00", requires=(TRADE_ITEM,)),
    _ai("15", "BEST BEFORE or BEST BY", "N6:date_or_day_00", requires=(TRADE_ITEM,)),
    _ai("16", "SELL BY", "N6:date_or_day_00", requires=(TRADE_ITEM,)),
    _ai("17", "USE BY or EXPIRY", "N6:date_or_day_00", requires=("01 02 255 8006 8026",)),
    _ai("20", "VARIANT", "N2", requires=(TRADE_ITEM,)),
    _ai("21", "SERIAL", "X..20", requires=("01 8006",), excludes="235"),
    _ai("22", "CPV", "X..20", requires=("01",)),
    # A third-party serial only makes sense as a key qualifier of the GTIN, never as an attribute.
    _ai("235", "TPX", "X..28", requires=("01",), data_attribute=False),
    _ai("240", "ADDITIONAL ID", "X..30", requires=(TRADE_ITEM,)),
    _ai("241", "CUST. PART No.", "X..30", requires=(TRADE_ITEM,)),
    _ai("242", "MTO VARIANT", "N..6", requires=(TRADE_ITEM,)),
    _ai("243", "PCN", "X..20", requires=("01",)),
    _ai("250", "SECONDARY SERIAL", "X..30", requires=("01 8006", "21")),
    _ai("251", "REF. TO SOURCE", "X..30", requires=("01 8006",)),
    _ai("253", "GDTI", "N13:check + [X..17]", primary_key=True),
    _ai("254", "GLN EXTENSION COMPONENT", "X..20", requires=("414",)),
    _ai(
        "255",
        "GCN",
        "N13:check + [N..12]",
        primary_key=True,
        excludes="01 02 415 8006 8020 8026",
    ),
    _ai("30", "VAR. COUNT", "N..8", requires=("01 02",)),
    _ai("37", "COUNT", "N..8", requires=("00", "02 8026")),
    _ai("400", "ORDER NUMBER", "X..30"),
    _ai("401", "GINC", "X..30", primary_key=True),
    _ai("402", "GSIN", "N17:check", primary_key=True),
    _ai("403", "ROUTE", "X..30", requires=("00",)),
    _ai("410", "SHIP TO LOC", "N13:check"),
    _ai("411", "BILL TO", "N13:check"),
    _ai("412", "PURCHASE FROM", "N13:check"),
    _ai("413", "SHIP FOR LOC", "N13:check"),
    _ai("414", "LOC No.", "N13:check", primary_key=True, qualifiers=("254", "7040")),
    _ai(
        "415",
        "PAY TO",
        "N13:check",
        primary_key=True,
        qualifiers=("8020",),
        requires=("8020",),
    ),
    _ai("416", "PROD/SERV LOC", "N13:check"),
    _ai("417", "PARTY", "N13:check", primary_key=True, qualifiers=("7040",)),
    _ai("420", "SHIP TO POST", "X..20", excludes="421"),
    _ai("421", "SHIP TO POST", "N3 + X..9"),
    # Countries are ISO 3166 numeric codes: Viet Nam is 704.
    _ai("422", "ORIGIN", "N3", requires=(TRADE_ITEM,), excludes="426"),
    _ai("423", "COUNTRY - INITIAL PROCESS", "N3 + [N..12]", requires=("01 02",), excludes="426"),
    _ai("424", "COUNTRY - PROCESS", "N3", requires=("01 02",), excludes="426"),
    _ai("425", "COUNTRY - DISASSEMBLY", "N3 + [N..12]", requires=("01 02",), excludes="426"),
    _ai("426", "COUNTRY - FULL PROCESS", "N3", requires=("01 02",)),
    _ai("427", "ORIGIN SUBDIVISION", "X..3", requires=("01 02", "422")),
    _ai("7001", "NSN", "N13", requires=(TRADE_ITEM,)),
    _ai("7002", "MEAT CUT", "X..30", requires=("01 02",)),
    _ai("7003", "EXPIRY TIME", "N6:date + N4:time", requires=("01 02",)),
    _ai("7004", "ACTIVE POTENCY", "N..4", requires=("01", "10")),
    _ai("7005", "CATCH AREA", "X..12", requires=("01 02",)),
    _ai("7006", "FIRST FREEZE DATE", "N6:date", requires=("01 02",)),
    # A single harvest day, or the first and last day of the harvest.
    _ai("7007", "HARVEST DATE", "N6:date + [N6:date]", requires=("01 02",)),
    _ai("7008", "AQUATIC SPECIES", "X..3", requires=("01 02",)),
    _ai("7009", "FISHING GEAR TYPE", "X..10", requires=("01 02",)),
    _ai("7010", "PROD METHOD", "X..2", requires=("01 02",)),
    _ai("7011", "TEST BY DATE", "N6:date + [N4:time]", requires=("01 02",)),
    _ai("7040", "UIC+EXT", "N1 + X3"),
    _ai("7240", "PROTOCOL", "X..20", requires=("01 8006",)),
    _ai("8001", "DIMENSIONS", "N14", requires=("01",)),
    _ai("8002", "CMT No.", "X..20"),
    _ai("8003", "GRAI", "N1:zero + N13:check + [X..16]", primary_key=True),
    _ai("8004", "GIAI", "X..30", primary_key=True, qualifiers=("7040",)),
    _ai("8005", "PRICE PER UNIT", "N6", requires=("01 02",)),
    _ai(
        "8006",
        "ITIP",
        "N14:check + N4:piece_of_total",
        primary_key=True,
        qualifiers=("22 10 21",),
        excludes="01 37",
    ),
    _ai("8007", "IBAN", "X..34", requires=("415",)),
    _ai("8008", "PROD TIME", "N8:date_hour + [N..4]", requires=("01 02",)),
    _ai("8009", "OPTSEN", "X..50", requires=("00 01",)),
    _ai("8010", "CPID", "Y..30", primary_key=True, qualifiers=("8011",)),
    _ai("8011", "CPID SERIAL", "N..12", requires=("8010",)),
    _ai("8012", "VERSION", "X..20", requires=("01 8006",)),
    _ai("8013", "GMN", "X..25:check_pair", primary_key=True),
    _ai("8017", "GSRN - PROVIDER", "N18:check", primary_key=True, qualifiers=("8019",)),
    _ai(
        "8018",
        "GSRN - RECIPIENT",
        "N18:check",
        primary_key=True,
        qualifiers=("8019",),
        excludes="8017",
    ),
    _ai("8019", "SRIN", "N..10", requires=("8017 8018",)),
    _ai("8020", "REF No.", "X..25", requires=("415",)),
    _ai(
        "8026",
        "ITIP CONTENT",
        "N14:check + N4:piece_of_total",
        requires=("37",),
        excludes="02 8006",
    ),
    # A web address inside a web address: the Digital Link itself is the product's link.
    _ai("8200", "PRODUCT URL", "X..70", requires=("01",), data_attribute=False),
    _ai("90", "INTERNAL", "X..30"),
    *(_ai(str(ai), "INTERNAL", "X..90") for ai in range(91, 100)),
]

# Certification references (e.g. a VietGAP or organic certificate): 2-letter agency + number.
_ROWS += [
    _ai(str(ai), f"CERT # {ai - 7229}", "X2 + X..28", requires=("01 8004",))
    for ai in range(7230, 7240)
]

# Trade measures: AI 3xyn holds a 6-digit value with n decimals, e.g. (3103)000195 is 0.195 kg.
# Each family excludes its own other decimal positions: one net weight per item.
_MEASURES = [
    ("310", "NET WEIGHT (kg)", "01 02"),
    ("311", "LENGTH (m)", "01 02"),
    ("312", "WIDTH (m)", "01 02"),
    ("313", "HEIGHT (m)", "01 02"),
    ("314", "AREA (m²)", "01 02"),
    ("315", "NET VOLUME (l)", "01 02"),
    ("316", "NET VOLUME (m³)", "01 02"),
    ("320", "NET WEIGHT (lb)", "01 02"),
    ("330", "GROSS WEIGHT (kg)", "00 01"),
    ("331", "LENGTH (m), log", "00 01"),
    ("332", "WIDTH (m), log", "00 01"),
    ("333", "HEIGHT (m), log", "00 01"),
    ("334", "AREA (m²), log", "00 01"),
    ("335", "VOLUME (l), log", "00 01"),
    ("336", "VOLUME (m³), log", "00 01"),
    ("337", "KG PER m²", "01"),
]
_ROWS += [
    _ai(f"{family}{n}", title, "N6", requires=(owners,), excludes=f"{family}n")
    for family, title, owners in _MEASURES
    for n in range(6)
]

# Amounts and prices: the last digit is the number of decimals.
VARIABLE_MEASURE = "30 31nn 32nn 35nn 36nn"
_ROWS += [
    _ai(f"390{n}", "AMOUNT", "N..15", requires=("255 8020",), excludes="390n 391n 394n")
    for n in range(10)
]
_ROWS += [
    _ai(f"391{n}", "AMOUNT", "N3 + N..15", requires=("8020",), excludes="391n") for n in range(10)
]
_ROWS += [
    _ai(f"392{n}", "PRICE", "N..15", requires=("01", VARIABLE_MEASURE), excludes="392n 393n")
    for n in range(10)
]
_ROWS += [
    _ai(f"393{n}", "PRICE", "N3 + N..15", requires=(VARIABLE_MEASURE,), excludes="393n")
    for n in range(10)
]
_ROWS += [_ai(f"394{n}", "PRCNT OFF", "N4", requires=("255",), excludes="394n") for n in range(4)]
_ROWS += [
    _ai(f"395{n}", "PRICE/UoM", "N6", requires=(VARIABLE_MEASURE,), excludes="392n 393n 395n")
    for n in range(6)
]

AI_TABLE: dict[str, AiSpec] = {row.ai: row for row in _ROWS}
assert len(AI_TABLE) == len(_ROWS), "an AI is listed twice"
