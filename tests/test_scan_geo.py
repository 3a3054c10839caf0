"""Scan places and warnings (xaso/lib/scan_geo.py): pure functions, no database."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from vietnam_provinces import Province

from xaso.lib.scan_geo import (
    PROVINCE_SEATS,
    IpProvinceTable,
    ScanHistory,
    ScanRules,
    distance_km,
    scan_warnings,
)

HANOI, BAC_NINH, HO_CHI_MINH, CAN_THO = "01", "24", "79", "92"
NOON = datetime(2025, 9, 2, 12, 0, tzinfo=UTC)


def table_from_lines(tmp_path: Path, *lines: str) -> IpProvinceTable:
    path = tmp_path / "ip_provinces.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return IpProvinceTable.from_csv(path)


# Province seats and distances


def test_every_province_in_force_since_july_2025_has_a_seat():
    codes_in_force = {f"{int(province.code):02d}" for province in Province.iter_all()}
    assert len(PROVINCE_SEATS) == 34
    assert set(PROVINCE_SEATS) == codes_in_force


@pytest.mark.parametrize("code", sorted(PROVINCE_SEATS))
def test_every_seat_lies_inside_vietnam(code):
    latitude, longitude = PROVINCE_SEATS[code]
    assert 8 <= latitude <= 24
    assert 102 <= longitude <= 110


def test_hanoi_to_ho_chi_minh_city_is_about_1140_km():
    assert distance_km(HANOI, HO_CHI_MINH) == pytest.approx(1140, abs=60)


def test_distance_is_the_same_both_ways():
    assert distance_km(HANOI, CAN_THO) == pytest.approx(distance_km(CAN_THO, HANOI))


def test_distance_within_one_province_is_zero():
    assert distance_km(HANOI, HANOI) == 0


@pytest.mark.parametrize(("province_a", "province_b"), [("01", "99"), ("", "79"), ("1", "01")])
def test_distance_with_an_unknown_province_is_none(province_a, province_b):
    assert distance_km(province_a, province_b) is None


# Loading the IP table


def test_an_ipv4_network_covers_its_first_and_last_address_only(tmp_path):
    table = table_from_lines(tmp_path, "14.160.0.0/11,01")
    assert table.province_of("14.159.255.255") == ""
    assert table.province_of("14.160.0.0") == HANOI
    assert table.province_of("14.191.255.255") == HANOI
    assert table.province_of("14.192.0.0") == ""


def test_an_ipv6_network_covers_its_first_and_last_address_only(tmp_path):
    table = table_from_lines(tmp_path, "2402:800::/32,79")
    assert table.province_of("2402:7ff:ffff:ffff:ffff:ffff:ffff:ffff") == ""
    assert table.province_of("2402:800::") == HO_CHI_MINH
    assert table.province_of("2402:800:ffff:ffff:ffff:ffff:ffff:ffff") == HO_CHI_MINH
    assert table.province_of("2402:801::") == ""


def test_ipv4_and_ipv6_ranges_do_not_mix(tmp_path):
    # 0.0.0.0/8 and ::/8 have the same integer bounds; each version has its own ranges.
    table = table_from_lines(tmp_path, "0.0.0.0/8,01", "::/8,79")
    assert table.province_of("0.0.0.1") == HANOI
    assert table.province_of("::1") == HO_CHI_MINH


def test_an_ipv4_mapped_ipv6_address_is_looked_up_as_ipv4(tmp_path):
    table = table_from_lines(tmp_path, "14.160.0.0/11,01")
    assert table.province_of("::ffff:14.160.0.1") == HANOI


def test_header_comments_and_blank_lines_are_ignored(tmp_path):
    table = table_from_lines(
        tmp_path,
        "# derived from a GeoIP database, 2025-09",
        "network,province",
        "",
        "  14.160.0.0/11 , 01  ",
        "# Hồ Chí Minh",
        "2402:800::/32,79",
    )
    assert table.province_of("14.160.0.1") == HANOI
    assert table.province_of("2402:800::1") == HO_CHI_MINH


def test_a_one_digit_province_code_is_padded_to_two(tmp_path):
    table = table_from_lines(tmp_path, "14.160.0.0/11,1")
    assert table.province_of("14.160.0.1") == "01"


@pytest.mark.parametrize(
    "bad_line",
    [
        "not-a-network,01",
        "14.160.0.0/11",
        "14.160.0.0/11,01,extra",
        "14.160.0.1/11,01",  # host bits set: probably a typo, not a network
        "network,province",  # a header is only allowed before the data
    ],
)
def test_a_malformed_line_is_refused_with_its_line_number(tmp_path, bad_line):
    with pytest.raises(ValueError, match="line 4"):
        table_from_lines(tmp_path, "network,province", "# comment", "1.0.0.0/24,01", bad_line)


@pytest.mark.parametrize("code", ["99", "00", "001", "HN", ""])
def test_an_unknown_province_code_is_refused_with_its_line_number(tmp_path, code):
    with pytest.raises(ValueError, match=r"line 2: unknown province code"):
        table_from_lines(tmp_path, "1.0.0.0/24,01", f"2.0.0.0/24,{code}")


# Lookups


@pytest.mark.parametrize("ip", ["not an ip", "", None, "14.160.0", "999.1.1.1"])
def test_anything_but_an_address_has_no_province(tmp_path, ip):
    table = table_from_lines(tmp_path, "0.0.0.0/0,01")
    assert table.province_of(ip) == ""


def test_the_empty_table_knows_no_address():
    assert IpProvinceTable.empty().province_of("14.160.0.1") == ""


@pytest.mark.parametrize("outer_first", [True, False])
def test_the_most_specific_network_wins_whatever_the_line_order(tmp_path, outer_first):
    lines = ["10.0.0.0/8,01", "10.20.0.0/16,79"]
    table = table_from_lines(tmp_path, *(lines if outer_first else reversed(lines)))
    assert table.province_of("10.0.0.0") == HANOI
    assert table.province_of("10.19.255.255") == HANOI
    assert table.province_of("10.20.0.0") == HO_CHI_MINH
    assert table.province_of("10.20.255.255") == HO_CHI_MINH
    assert table.province_of("10.21.0.0") == HANOI
    assert table.province_of("10.255.255.255") == HANOI
    assert table.province_of("11.0.0.0") == ""


def test_nested_networks_sharing_a_first_or_last_address(tmp_path):
    table = table_from_lines(
        tmp_path,
        "10.0.0.0/8,01",
        "10.0.0.0/16,79",  # same first address as the /8
        "10.0.1.0/24,48",  # three levels deep
        "10.0.2.0/24,46",  # a sibling of the /24 above
        "10.255.0.0/16,92",  # same last address as the /8
    )
    assert table.province_of("10.0.0.255") == HO_CHI_MINH
    assert table.province_of("10.0.1.0") == "48"
    assert table.province_of("10.0.2.255") == "46"
    assert table.province_of("10.0.3.0") == HO_CHI_MINH
    assert table.province_of("10.1.0.0") == HANOI
    assert table.province_of("10.254.255.255") == HANOI
    assert table.province_of("10.255.255.255") == CAN_THO
    assert table.province_of("11.0.0.0") == ""


def test_a_network_listed_twice_takes_the_later_province(tmp_path):
    table = table_from_lines(tmp_path, "10.0.0.0/8,01", "10.0.0.0/8,79")
    assert table.province_of("10.1.2.3") == HO_CHI_MINH


# Scan warnings


def history(*, count: int = 1, at: datetime | None = NOON, province: str = HANOI) -> ScanHistory:
    return ScanHistory(scan_count=count, last_scan_at=at, last_province=province)


def test_a_first_scan_has_no_warning():
    first = ScanHistory(scan_count=0, last_scan_at=None, last_province="")
    assert scan_warnings(first, province=HO_CHI_MINH, scanned_at=NOON) == []


def test_exactly_max_scans_is_not_too_many():
    rules = ScanRules(max_scans=30)
    late = NOON + timedelta(days=1)
    assert scan_warnings(history(count=29), province=HANOI, scanned_at=late, rules=rules) == []


def test_one_scan_more_than_max_scans_is_too_many():
    rules = ScanRules(max_scans=30)
    late = NOON + timedelta(days=1)
    warnings = scan_warnings(history(count=30), province=HANOI, scanned_at=late, rules=rules)
    assert warnings == ["too_many_scans"]


def test_hanoi_then_ho_chi_minh_city_an_hour_later_is_impossible_travel():
    warnings = scan_warnings(history(), province=HO_CHI_MINH, scanned_at=NOON + timedelta(hours=1))
    assert warnings == ["impossible_travel"]


def test_hanoi_then_ho_chi_minh_city_the_next_day_is_possible():
    warnings = scan_warnings(history(), province=HO_CHI_MINH, scanned_at=NOON + timedelta(days=1))
    assert warnings == []


def test_a_zero_interval_between_far_provinces_is_impossible_travel():
    warnings = scan_warnings(history(), province=HO_CHI_MINH, scanned_at=NOON)
    assert warnings == ["impossible_travel"]


def test_scans_recorded_out_of_order_are_still_compared():
    earlier = NOON - timedelta(minutes=10)
    warnings = scan_warnings(history(), province=HO_CHI_MINH, scanned_at=earlier)
    assert warnings == ["impossible_travel"]


def test_a_near_province_is_ignored_even_at_the_same_moment():
    assert distance_km(HANOI, BAC_NINH) < ScanRules().min_distance_km
    assert scan_warnings(history(), province=BAC_NINH, scanned_at=NOON) == []


def test_exactly_the_minimum_distance_counts():
    exact = ScanRules(min_distance_km=distance_km(HANOI, HO_CHI_MINH))
    assert scan_warnings(history(), province=HO_CHI_MINH, scanned_at=NOON, rules=exact) == [
        "impossible_travel"
    ]
    beyond = ScanRules(min_distance_km=distance_km(HANOI, HO_CHI_MINH) + 0.001)
    assert scan_warnings(history(), province=HO_CHI_MINH, scanned_at=NOON, rules=beyond) == []


def test_exactly_the_maximum_speed_is_possible():
    two_hours_later = NOON + timedelta(hours=2)
    exact = ScanRules(max_speed_kmh=distance_km(HANOI, HO_CHI_MINH) / 2)
    warnings = scan_warnings(
        history(), province=HO_CHI_MINH, scanned_at=two_hours_later, rules=exact
    )
    assert warnings == []
    slower = ScanRules(max_speed_kmh=distance_km(HANOI, HO_CHI_MINH) / 2 - 0.001)
    warnings = scan_warnings(
        history(), province=HO_CHI_MINH, scanned_at=two_hours_later, rules=slower
    )
    assert warnings == ["impossible_travel"]


def test_the_same_province_at_the_same_moment_is_never_travel():
    anywhere = ScanRules(min_distance_km=0)
    assert scan_warnings(history(), province=HANOI, scanned_at=NOON, rules=anywhere) == []


@pytest.mark.parametrize(("last", "current"), [("", HO_CHI_MINH), (HANOI, ""), (HANOI, "99")])
def test_an_unknown_province_gives_no_travel_warning(last, current):
    warnings = scan_warnings(history(province=last), province=current, scanned_at=NOON)
    assert warnings == []


def test_no_travel_warning_without_the_time_of_the_last_scan():
    warnings = scan_warnings(history(at=None), province=HO_CHI_MINH, scanned_at=NOON)
    assert warnings == []


def test_both_warnings_can_come_together():
    warnings = scan_warnings(history(count=30), province=HO_CHI_MINH, scanned_at=NOON)
    assert warnings == ["too_many_scans", "impossible_travel"]
