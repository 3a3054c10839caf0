"""VietQR payloads: NAPAS's profile of the EMVCo merchant-presented QR code.

A payload is a string of TLV fields (two-digit id, two-digit length, value). The bank account
sits in field 38 under NAPAS's application id; field 54 carries the amount and field 62 the
bill number and purpose, so a transfer can be matched to a dossier or an order. Field 63 is a
CRC-16/CCITT-FALSE over everything before it, including its own "6304".
"""

import re
import unicodedata
from dataclasses import dataclass

NAPAS_AID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
SERVICE_TO_CARD = "QRIBFTTC"
CURRENCY_VND = "704"
COUNTRY_VN = "VN"
# Characters a bank app shows reliably in the purpose field: ASCII letters, digits, space and
# a few signs. Vietnamese diacritics are stripped rather than rejected.
_PURPOSE_ALLOWED = re.compile(r"[^A-Za-z0-9 .,\-_/]")


class VietQRError(ValueError):
    """A value cannot go into a VietQR payload; the message says which and why (Vietnamese)."""


@dataclass(frozen=True)
class Payment:
    bank_bin: str  # 6 digits, e.g. 970416 (ACB), 970436 (Vietcombank)
    account: str
    amount: int | None = None  # đồng; None for a static code the payer fills in
    purpose: str = ""
    bill_number: str = ""
    to_card: bool = False


def _field(tag: str, value: str) -> str:
    if len(value) > 99:
        raise VietQRError(f"Trường {tag} dài quá 99 ký tự.")
    return f"{tag}{len(value):02d}{value}"


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no xor-out."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def ascii_purpose(text: str, max_length: int = 50) -> str:
    """ "Nộp phí hồ sơ 000.00.12" → "Nop phi ho so 000.00.12" (bank apps show ASCII safely)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = _PURPOSE_ALLOWED.sub(" ", text)
    return " ".join(text.split())[:max_length]


def build(payment: Payment) -> str:
    """The payload text for a QR code; raises VietQRError on a value a bank would reject."""
    if not re.fullmatch(r"\d{6}", payment.bank_bin):
        raise VietQRError("Mã BIN ngân hàng phải gồm 6 chữ số.")
    if not re.fullmatch(r"[0-9A-Za-z]{1,19}", payment.account):
        raise VietQRError("Số tài khoản chỉ gồm chữ và số, tối đa 19 ký tự.")
    if payment.amount is not None and not 0 < payment.amount <= 9_999_999_999_999:
        raise VietQRError("Số tiền phải lớn hơn 0.")
    beneficiary = _field("00", payment.bank_bin) + _field("01", payment.account)
    service = SERVICE_TO_CARD if payment.to_card else SERVICE_TO_ACCOUNT
    merchant = _field("00", NAPAS_AID) + _field("01", beneficiary) + _field("02", service)
    fields = [
        _field("00", "01"),
        _field("01", "12" if payment.amount is not None else "11"),
        _field("38", merchant),
        _field("53", CURRENCY_VND),
    ]
    if payment.amount is not None:
        fields.append(_field("54", str(payment.amount)))
    fields.append(_field("58", COUNTRY_VN))
    additional = ""
    if payment.bill_number:
        additional += _field("01", ascii_purpose(payment.bill_number, 25))
    if payment.purpose:
        additional += _field("08", ascii_purpose(payment.purpose))
    if additional:
        fields.append(_field("62", additional))
    body = "".join(fields) + "6304"
    return body + f"{crc16_ccitt_false(body.encode()):04X}"


def parse(payload: str) -> dict[str, str]:
    """Top-level fields of a payload, after checking its CRC (for tests and for reading codes)."""
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise VietQRError("Thiếu trường kiểm tra CRC (63).")
    expected = f"{crc16_ccitt_false(payload[:-4].encode()):04X}"
    if payload[-4:].upper() != expected:
        raise VietQRError("Mã CRC không khớp: mã QR bị sai hoặc bị sửa.")
    return _tlv(payload)


def _tlv(text: str) -> dict[str, str]:
    fields, index = {}, 0
    while index < len(text):
        tag, length = text[index : index + 2], text[index + 2 : index + 4]
        if not (tag.isdigit() and length.isdigit()) or index + 4 + int(length) > len(text):
            raise VietQRError("Nội dung mã QR không đúng cấu trúc EMVCo.")
        fields[tag] = text[index + 4 : index + 4 + int(length)]
        index += 4 + int(length)
    return fields


def sub_fields(value: str) -> dict[str, str]:
    """The nested fields of a template (38, 62)."""
    return _tlv(value)
