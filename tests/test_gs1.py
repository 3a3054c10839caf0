"""GS1 check digits and Digital Link URIs (xaso/lib/gs1.py): pure functions, no database.

The conformance vectors come from the GS1 reference implementation (gs1-syntax-engine) and are
read from ../shared/conformance/gs1-digital-link/ when that folder exists; every case whose
flags are the reference implementation's defaults is checked, each as its own test.
"""

import json
from datetime import date
from pathlib import Path

import pytest

from xaso.lib.gs1 import (
    MAX_URI_LENGTH,
    DigitalLinkError,
    Element,
    check_character_pair,
    generate_digital_link,
    gs1_date,
    gtin_check_digit,
    is_valid_gtin,
    parse_bracketed,
    parse_digital_link,
    to_bracketed,
    to_element_string,
    to_gtin14,
    uppercase_uri,
)

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "gs1-digital-link"

# The reference implementation's defaults: zero-suppressed GTINs, convenience alphas ("gtin",
# "ser") and unknown AIs are refused, and unknown AIs are never data attributes.
DEFAULT_PARSE_FLAGS = {
    "permitZeroSuppressedGTIN": False,
    "permitConvenienceAlphas": False,
    "permitUnknownAIs": False,
    "unknownAiNotDlAttrValidation": True,
}
DEFAULT_GENERATE_FLAGS = {"permitUnknownAIs": False, "unknownAiNotDlAttrValidation": True}

# Expectations that are wrong in the shared JSON file, not in the standard. Case 1600 comes from
# this C line of gs1-syntax-engine's dl.c:
#     "https://a/01/12312312312333/22/ABC+123?99=ABC&98=XYZ%2f987",  // "+" means "+" in path info
#     "^011231231231233322ABC+123^99ABC^98XYZ/987");
# The extraction read the quoted "+" and "+" of the comment as C string literals and joined
# them to the next literal, giving "++^0112…". The real expectation is tested below by name.
# Strict: once the file is corrected this xfail fails, and the entry must go.
BAD_EXPECTATIONS = {
    1600: "expected_ai_string holds '++' from a C comment of the source (see BAD_EXPECTATIONS)"
}


def vector_params(
    filename: str, flags: dict, *, valid: bool | None = None, checks_expectation: bool = False
) -> list:
    path = VECTORS / filename
    if not path.exists():
        reason = f"GS1 conformance vectors not present at {path}"
        return [pytest.param(None, id="vectors-missing", marks=pytest.mark.skip(reason=reason))]
    params = []
    for vector in json.loads(path.read_text()):
        if vector["flags"] != flags or (valid is not None and vector["valid"] != valid):
            continue
        marks = []
        if checks_expectation and vector["line"] in BAD_EXPECTATIONS:
            marks = [pytest.mark.xfail(strict=True, reason=BAD_EXPECTATIONS[vector["line"]])]
        params.append(pytest.param(vector, id=f"line{vector['line']}", marks=marks))
    return params


PARSE_VECTORS = "gs1_dl_parse_vectors.json"
GENERATE_VECTORS = "gs1_dl_generate_vectors.json"


# --- Conformance vectors -------------------------------------------------------------------


def test_the_vector_files_hold_100_default_parse_cases_and_20_default_generation_cases():
    if not VECTORS.exists():
        pytest.skip(f"GS1 conformance vectors not present at {VECTORS}")
    assert len(vector_params(PARSE_VECTORS, DEFAULT_PARSE_FLAGS)) == 100
    assert len(vector_params(GENERATE_VECTORS, DEFAULT_GENERATE_FLAGS)) == 20


@pytest.mark.parametrize(
    "vector",
    vector_params(PARSE_VECTORS, DEFAULT_PARSE_FLAGS, valid=True, checks_expectation=True),
)
def test_a_valid_vector_uri_reads_as_its_element_string(vector):
    link = parse_digital_link(vector["uri"])
    assert to_element_string(link) == vector["expected_ai_string"]


@pytest.mark.parametrize("vector", vector_params(PARSE_VECTORS, DEFAULT_PARSE_FLAGS, valid=False))
def test_an_invalid_vector_uri_is_refused_with_a_reason(vector):
    with pytest.raises(DigitalLinkError) as refused:
        parse_digital_link(vector["uri"])
    assert refused.value.message and refused.value.message_vi


@pytest.mark.parametrize("vector", vector_params(PARSE_VECTORS, DEFAULT_PARSE_FLAGS, valid=True))
def test_a_valid_vector_uri_survives_being_written_again(vector):
    link = parse_digital_link(vector["uri"])
    assert parse_digital_link(link.to_uri()).elements == link.elements


@pytest.mark.parametrize("vector", vector_params(GENERATE_VECTORS, DEFAULT_GENERATE_FLAGS))
def test_a_generation_vector_gives_its_uri_or_an_error(vector):
    elements = parse_bracketed(vector["ai_data"])
    if vector["valid"]:
        assert generate_digital_link(elements, stem=vector["stem"]) == vector["expected_uri"]
    else:
        with pytest.raises(DigitalLinkError):
            generate_digital_link(elements, stem=vector["stem"])


def test_a_plus_in_the_path_is_a_plus_and_in_the_query_a_space():
    # The true expectation of parse vector 1600 (see BAD_EXPECTATIONS) and its sibling 1604.
    link = parse_digital_link("https://a/01/12312312312333/22/ABC+123?99=ABC&98=XYZ%2f987")
    assert to_element_string(link) == "^011231231231233322ABC+123^99ABC^98XYZ/987"
    with pytest.raises(DigitalLinkError) as refused:
        parse_digital_link("https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ+987")
    assert refused.value.code == "bad_character"


def test_an_unknown_ai_is_refused_when_generating():
    # Generation vectors 2203 and 2206 are about permitting unknown AIs, which we never do.
    with pytest.raises(DigitalLinkError) as refused:
        generate_digital_link(parse_bracketed("(01)12312312312326(99)000001(89)XXX(95)INT"))
    assert refused.value.code == "unknown_ai"


# --- Check digits --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gtin",
    [
        "09520123456788",  # GTIN-14, the GS1 Digital Link standard's example
        "8931234567897",  # GTIN-13 under Viet Nam's prefix 893
        "5901234123457",  # GTIN-13, the General Specifications' EAN-13 example
        "036000291452",  # GTIN-12 (UPC-A)
        "89312346",  # GTIN-8 under prefix 893
    ],
)
def test_a_known_gtin_ends_in_its_check_digit(gtin):
    assert gtin_check_digit(gtin[:-1]) == int(gtin[-1])
    assert is_valid_gtin(gtin)


def test_the_check_digit_weighs_digits_3_1_3_from_the_right():
    # 893123456789: 9·3 + 8·1 + 7·3 + 6·1 + 5·3 + 4·1 + 3·3 + 2·1 + 1·3 + 3·1 + 9·3 + 8·1 = 133
    assert gtin_check_digit("893123456789") == 7


@pytest.mark.parametrize(
    "value",
    ["8931234567890", "893123456789", "893123456789X", "８９３１２３４５６７８９７", "", "0"],
)
def test_a_wrong_check_digit_length_or_character_makes_a_gtin_invalid(value):
    assert not is_valid_gtin(value)


def test_shorter_gtins_are_padded_to_14_digits_for_ai_01():
    assert to_gtin14("8931234567897") == "08931234567897"
    assert to_gtin14("89312346") == "00000089312346"
    with pytest.raises(ValueError):
        to_gtin14("8931234567890")


@pytest.mark.parametrize(
    ("key", "value", "wrong"),
    [
        ("00", "389312345600000004", "389312345600000005"),  # SSCC
        ("414", "8936048180010", "8936048180011"),  # GLN
        ("8018", "123456789012345675", "123456789012345676"),  # GSRN
        ("253", "8936048180010LOT-2025", "8936048180019LOT-2025"),  # GDTI with its serial
        ("8003", "08931234567897ABC", "08931234567891ABC"),  # GRAI: 0, GTIN-13 digits, serial
    ],
)
def test_other_numeric_keys_use_the_same_check_digit(key, value, wrong):
    assert parse_digital_link(f"https://a/{key}/{value}").primary_key == (key, value)
    with pytest.raises(DigitalLinkError) as refused:
        parse_digital_link(f"https://a/{key}/{wrong}")
    assert refused.value.code == "bad_check_digit"


def test_a_gmn_check_pair_matches_the_general_specifications_example():
    assert check_character_pair("1987654Ad4X4bL5ttr2310c") == "2K"
    parse_digital_link("https://a/8013/1987654Ad4X4bL5ttr2310c2K")
    with pytest.raises(DigitalLinkError) as refused:
        parse_digital_link("https://a/8013/1987654Ad4X4bL5ttr2310c2J")
    assert refused.value.code == "bad_check_digit"


def test_a_two_digit_year_lands_within_49_years_back_and_50_ahead():
    today = date(2025, 6, 1)
    assert gs1_date("991231", today=today) == date(1999, 12, 31)
    assert gs1_date("750101", today=today) == date(2075, 1, 1)
    assert gs1_date("760101", today=today) == date(1976, 1, 1)


# --- Errors, in English and Vietnamese -----------------------------------------------------


def test_a_wrong_gtin_check_digit_is_explained_in_english_and_vietnamese():
    with pytest.raises(DigitalLinkError) as refused:
        parse_digital_link("https://xaso.example/01/08931234567890/10/LOT7")
    assert refused.value.code == "bad_check_digit"
    assert str(refused.value) == "The GTIN in AI (01) fails its check: it should end in 7."
    assert refused.value.message_vi == (
        "Mã GTIN ở AI (01) sai số kiểm tra: phần cuối đúng phải là 7."
    )


def test_a_batch_with_vietnamese_letters_is_refused_naming_the_letter():
    with pytest.raises(DigitalLinkError) as refused:
        generate_digital_link([("01", "08931234567897"), ("10", "LÔ7")])
    assert refused.value.code == "bad_character"
    assert refused.value.message_vi == (
        "Giá trị của AI (10) chứa ký tự «Ô», GS1 không cho phép ký tự này ở đây."
    )


@pytest.mark.parametrize(
    ("uri", "code"),
    [
        ("https://a/01/08931234567897/10/A/22/B", "bad_qualifiers"),  # 22 comes before 10
        ("https://a/414/8936048180010/21/1", "bad_qualifiers"),  # 21 does not qualify a GLN
        ("https://a/01/08931234567897/10/A?10=A", "duplicate_ai"),
        ("https://a/01/08931234567897?10=A", "belongs_in_path"),
        ("https://a/01/08931234567897/10/AB%ZZ", "bad_percent_encoding"),
        ("https://a/01/08931234567897/10/AB%", "bad_percent_encoding"),
        ("https://a/01/08931234567897/10/", "empty_value"),
        ("https://a/01/08931234567897/", "no_primary_key"),  # a trailing slash
        ("https://a/01/08931234567897?99=", "empty_value"),
        ("https://a/01/0893123456789", "bad_length"),
        ("https://a/01/0893123456789A", "not_numeric"),
        ("https://a/01/08931234567897/89/ABC", "unknown_ai"),
        ("https://a/01/08931234567897?999=ABC", "unknown_ai"),
        ("https://a/01/08931234567897?7007=250231", "bad_content"),  # 31 February
        ("https://a/00/389312345600000004?10=LOT7", "missing_requisite"),  # a batch of what?
        ("https://a/01/08931234567897?02=08931234567897&37=5", "invalid_pair"),
        ("https://a/01/08931234567897?8200=https%3A%2F%2Fx.vn", "not_a_data_attribute"),
        ("https://a/products/gtin/08931234567897", "no_primary_key"),
        ("https://a b/01/08931234567897", "bad_uri_character"),
        ("Https://a/01/08931234567897", "bad_scheme"),
        ("https://a_b/01/08931234567897", "bad_domain"),
    ],
)
def test_each_broken_rule_has_its_own_reason_in_both_languages(uri, code):
    with pytest.raises(DigitalLinkError) as refused:
        parse_digital_link(uri)
    assert refused.value.code == code
    assert refused.value.message != refused.value.message_vi
    assert any(letter in refused.value.message_vi for letter in "ạảãáàâăđêếệịòóôơờởụủưừứ")


def test_a_uri_longer_than_the_limit_is_refused_before_it_is_read():
    uri = "https://xaso.example/01/08931234567897?pad=" + "x" * MAX_URI_LENGTH
    with pytest.raises(DigitalLinkError) as refused:
        parse_digital_link(uri)
    assert refused.value.code == "uri_too_long"
    assert str(MAX_URI_LENGTH) in refused.value.message_vi


def test_a_uri_exactly_at_the_limit_is_still_read():
    head = "https://xaso.example/01/08931234567897?pad="
    uri = head + "x" * (MAX_URI_LENGTH - len(head))
    assert len(uri) == MAX_URI_LENGTH
    assert parse_digital_link(uri).primary_key == Element("01", "08931234567897")


# --- Reading and writing links -------------------------------------------------------------


def test_a_lot_link_gives_key_qualifiers_attributes_and_other_parameters_apart():
    link = parse_digital_link(
        "https://xaso.example/some/path/01/08931234567897/10/LOT%2F7"
        "?7007=250601250615&422=704&linkType=gs1%3Apip"
    )
    assert link.stem == "https://xaso.example/some/path"
    assert link.primary_key == ("01", "08931234567897")
    assert link.qualifiers == (("10", "LOT/7"),)
    assert link.attributes == (("7007", "250601250615"), ("422", "704"))
    assert link.param("linkType") == "gs1:pip"
    assert link.value_of("7007") == "250601250615"
    assert link.value_of("21") is None


def test_a_generated_lot_link_puts_the_qualifier_in_the_path_and_encodes_values():
    uri = generate_digital_link(
        [("422", "704"), ("10", "LOT/7+"), ("01", "08931234567897"), ("7007", "250601")],
        stem="https://xaso.example/",
    )
    assert uri == "https://xaso.example/01/08931234567897/10/LOT%2F7%2B?422=704&7007=250601"
    assert parse_digital_link(uri).value_of("10") == "LOT/7+"


def test_conflicting_values_for_one_ai_are_refused_when_generating():
    with pytest.raises(DigitalLinkError) as refused:
        generate_digital_link([("01", "08931234567897"), ("10", "A"), ("10", "B")])
    assert refused.value.code == "conflicting_values"


def test_bracketed_ai_data_round_trips_with_an_escaped_parenthesis():
    elements = [("01", "08931234567897"), ("10", "A(1)")]
    text = to_bracketed(elements)
    assert text == "(01)08931234567897(10)A\\(1)"
    assert parse_bracketed(text) == elements


def test_an_upper_case_link_reads_the_same_when_its_values_are_upper_case():
    uri = generate_digital_link(
        [("01", "08931234567897"), ("10", "LOT/7")], stem="https://xaso.example"
    )
    upper = uppercase_uri(uri)
    assert upper == "HTTPS://XASO.EXAMPLE/01/08931234567897/10/LOT%2F7"
    assert parse_digital_link(upper).elements == parse_digital_link(uri).elements


def test_a_link_with_lower_case_values_cannot_be_upper_cased():
    with pytest.raises(ValueError):
        uppercase_uri("https://xaso.example/01/08931234567897/10/lot7")
