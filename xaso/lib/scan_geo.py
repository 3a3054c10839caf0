"""Where a stamp was scanned, and whether its scans look like a copied code.

The server never calls an online service: the province of a scan comes from an IP-range table
the operator provides as a CSV file (derived from any GeoIP source), and distances come from
the built-in seats of the 34 provinces below. Pure Python, standard library only.
"""

import bisect
import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# Approximate administrative seats of the 34 provinces and cities in force since 1 July 2025
# (Resolution 202/2025/QH15), keyed by official province code. Used only for distances between
# provinces, so two decimals (about a kilometre) are plenty.
PROVINCE_SEATS: dict[str, tuple[float, float]] = {
    "01": (21.03, 105.85),  # Hà Nội
    "04": (22.67, 106.26),  # Cao Bằng
    "08": (21.82, 105.21),  # Tuyên Quang
    "11": (21.39, 103.02),  # Điện Biên (Điện Biên Phủ)
    "12": (22.40, 103.46),  # Lai Châu
    "14": (21.33, 103.91),  # Sơn La
    "15": (21.72, 104.90),  # Lào Cai (seat at Yên Bái)
    "19": (21.59, 105.85),  # Thái Nguyên
    "20": (21.85, 106.76),  # Lạng Sơn
    "22": (20.95, 107.08),  # Quảng Ninh (Hạ Long)
    "24": (21.27, 106.19),  # Bắc Ninh (seat at Bắc Giang)
    "25": (21.32, 105.40),  # Phú Thọ (Việt Trì)
    "31": (20.86, 106.68),  # Hải Phòng
    "33": (20.65, 106.05),  # Hưng Yên
    "37": (20.25, 105.97),  # Ninh Bình
    "38": (19.81, 105.78),  # Thanh Hóa
    "40": (18.68, 105.68),  # Nghệ An (Vinh)
    "42": (18.34, 105.91),  # Hà Tĩnh
    "44": (17.47, 106.60),  # Quảng Trị (seat at Đồng Hới)
    "46": (16.46, 107.59),  # Huế
    "48": (16.07, 108.22),  # Đà Nẵng
    "51": (15.12, 108.80),  # Quảng Ngãi
    "52": (13.78, 109.22),  # Gia Lai (seat at Quy Nhơn)
    "56": (12.24, 109.19),  # Khánh Hòa (Nha Trang)
    "66": (12.67, 108.04),  # Đắk Lắk (Buôn Ma Thuột)
    "68": (11.94, 108.44),  # Lâm Đồng (Đà Lạt)
    "75": (10.95, 106.82),  # Đồng Nai (Biên Hòa)
    "79": (10.78, 106.70),  # Hồ Chí Minh
    "80": (10.54, 106.41),  # Tây Ninh (seat at Tân An)
    "82": (10.36, 106.36),  # Đồng Tháp (seat at Mỹ Tho)
    "86": (10.25, 105.97),  # Vĩnh Long
    "91": (10.01, 105.08),  # An Giang (seat at Rạch Giá)
    "92": (10.03, 105.78),  # Cần Thơ
    "96": (9.18, 105.15),  # Cà Mau
}

_EARTH_RADIUS_KM = 6371.0


def distance_km(province_a: str, province_b: str) -> float | None:
    """Great-circle distance between two province seats; None when either code is unknown."""
    seat_a, seat_b = PROVINCE_SEATS.get(province_a), PROVINCE_SEATS.get(province_b)
    if seat_a is None or seat_b is None:
        return None
    if province_a == province_b:
        return 0.0
    lat_a, lon_a = map(math.radians, seat_a)
    lat_b, lon_b = map(math.radians, seat_b)
    haversine = (
        math.sin((lat_b - lat_a) / 2) ** 2
        + math.cos(lat_a) * math.cos(lat_b) * math.sin((lon_b - lon_a) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(haversine))


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_HEADER_PROVINCE_NAMES = {"province", "province_code"}


@dataclass
class _Ranges:
    """Disjoint, sorted address ranges of one IP version, searched with bisect."""

    starts: list[int]
    ends: list[int]
    provinces: list[str]

    def find(self, address: int) -> str:
        index = bisect.bisect_right(self.starts, address) - 1
        if index >= 0 and address <= self.ends[index]:
            return self.provinces[index]
        return ""


class IpProvinceTable:
    """Maps an IP address to a province code, from operator-provided network ranges.

    Overlapping networks: the most specific (longest prefix) wins. CIDR networks are either
    nested or disjoint, so loading sweeps them in order with a stack of enclosing networks and
    splits each outer network around the inner ones. The result is a list of disjoint ranges
    per IP version, and a lookup is a single bisect however many networks were loaded.
    """

    def __init__(self, networks: Iterable[tuple[Network, str]]) -> None:
        by_network: dict[Network, str] = {}
        for network, province in networks:
            by_network[network] = province  # a network listed twice: the later line wins
        self._ranges = {
            version: _flatten(
                (int(net.network_address), int(net.broadcast_address), province)
                for net, province in by_network.items()
                if net.version == version
            )
            for version in (4, 6)
        }

    @classmethod
    def empty(cls) -> "IpProvinceTable":
        return cls([])

    @classmethod
    def from_csv(cls, path: str | Path) -> "IpProvinceTable":
        """Load lines "network,province_code" (e.g. "14.160.0.0/11,01")."""
        entries: list[tuple[Network, str]] = []
        with open(path, encoding="utf-8-sig") as lines:
            for line_number, line in enumerate(lines, start=1):
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                try:
                    entry = _parse_line(text, allow_header=not entries)
                except ValueError as error:
                    raise ValueError(f"{path}, line {line_number}: {error}") from None
                if entry is not None:
                    entries.append(entry)
        return cls(entries)

    def province_of(self, ip: str | None) -> str:
        """The province code of an address, or "" when it is unknown or not an address."""
        if not ip:
            return ""
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            return ""
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # "::ffff:1.2.3.4" from a dual-stack socket
        return self._ranges[address.version].find(int(address))


def _parse_line(text: str, *, allow_header: bool) -> tuple[Network, str] | None:
    """One data line as (network, province code); None for the header line."""
    fields = [field.strip() for field in text.split(",")]
    if len(fields) != 2:
        raise ValueError(f"expected 'network,province_code', got {text!r}")
    network_text, province_text = fields
    is_header = (
        network_text.lower() == "network" and province_text.lower() in _HEADER_PROVINCE_NAMES
    )
    if allow_header and is_header:
        return None
    try:
        network = ipaddress.ip_network(network_text)
    except ValueError as error:
        raise ValueError(f"invalid network {network_text!r} ({error})") from None
    return network, _normalize_province(province_text)


def _normalize_province(text: str) -> str:
    code = text.zfill(2) if text.isdigit() and len(text) <= 2 else text
    if code not in PROVINCE_SEATS:
        raise ValueError(f"unknown province code {text!r}")
    return code


def _flatten(intervals: Iterable[tuple[int, int, str]]) -> _Ranges:
    """Turn nested or disjoint intervals into disjoint ranges where the innermost one wins."""
    ranges = _Ranges([], [], [])
    enclosing: list[tuple[int, str]] = []  # (end, province), innermost last
    cursor = 0  # first address not yet given to a range
    # Sort outer networks before the inner ones that start at the same address.
    for start, end, province in sorted(intervals, key=lambda item: (item[0], -item[1])):
        while enclosing and enclosing[-1][0] < start:
            cursor = _close_innermost(ranges, enclosing, cursor)
        if enclosing:
            _append(ranges, cursor, start - 1, enclosing[-1][1])
        enclosing.append((end, province))
        cursor = start
    while enclosing:
        cursor = _close_innermost(ranges, enclosing, cursor)
    return ranges


def _close_innermost(ranges: _Ranges, enclosing: list[tuple[int, str]], cursor: int) -> int:
    end, province = enclosing.pop()
    _append(ranges, cursor, end, province)
    return end + 1


def _append(ranges: _Ranges, start: int, end: int, province: str) -> None:
    if start > end:
        return
    # Merge with the previous range when adjacent and of the same province: fewer ranges.
    if ranges.ends and ranges.ends[-1] + 1 == start and ranges.provinces[-1] == province:
        ranges.ends[-1] = end
        return
    ranges.starts.append(start)
    ranges.ends.append(end)
    ranges.provinces.append(province)


@dataclass(frozen=True)
class ScanHistory:
    scan_count: int  # scans before this one
    last_scan_at: datetime | None
    last_province: str  # "" when unknown


@dataclass(frozen=True)
class ScanRules:
    max_scans: int = 30  # more than this: too often
    max_speed_kmh: float = 150.0  # faster travel between two consecutive scans: impossible
    min_distance_km: float = 100.0  # nearer provinces are ignored: IP geolocation is coarse


def scan_warnings(
    history: ScanHistory,
    *,
    province: str,
    scanned_at: datetime,
    rules: ScanRules = ScanRules(),
) -> list[str]:
    """Warning codes for a new scan: "too_many_scans", "impossible_travel"."""
    warnings = []
    if history.scan_count + 1 > rules.max_scans:
        warnings.append("too_many_scans")
    if _is_impossible_travel(history, province=province, scanned_at=scanned_at, rules=rules):
        warnings.append("impossible_travel")
    return warnings


def _is_impossible_travel(
    history: ScanHistory, *, province: str, scanned_at: datetime, rules: ScanRules
) -> bool:
    if history.last_scan_at is None:
        return False
    distance = distance_km(history.last_province, province)
    if not distance or distance < rules.min_distance_km:
        return False  # unknown, same province, or too near for coarse IP geolocation
    # abs(): scans recorded out of order are still two places at nearly the same time.
    hours = abs((scanned_at - history.last_scan_at).total_seconds()) / 3600
    speed = math.inf if hours == 0 else distance / hours
    return speed > rules.max_speed_kmh
