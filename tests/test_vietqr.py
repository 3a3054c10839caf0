"""VietQR payloads (EMVCo fields, CRC-16/CCITT-FALSE), checked against DOMAIN.md's example."""

import pytest

from xaso.lib import vietqr

EXAMPLE = (
    "00020101021238530010A0000007270123000697041601092576788590208QRIBFTTA53037045405100005802VN"
    "62150811Chuyen tien630453E6"
)


def test_the_documented_example_is_built_byte_for_byte():
    payment = vietqr.Payment(
        bank_bin="970416", account="257678859", amount=10000, purpose="Chuyen tien"
    )
    assert vietqr.build(payment) == EXAMPLE


def test_the_crc_is_crc16_ccitt_false():
    assert vietqr.crc16_ccitt_false(b"123456789") == 0x29B1  # the algorithm's check value


def test_a_payload_reads_back_with_its_account_amount_and_purpose():
    payload = vietqr.build(
        vietqr.Payment(
            bank_bin="970436",
            account="0011004455667",
            amount=8000,
            bill_number="000.00.12.H56-261123-0001",
            purpose="Nộp phí hồ sơ 000.00.12.H56-261123-0001",
        )
    )
    fields = vietqr.parse(payload)
    account = vietqr.sub_fields(vietqr.sub_fields(fields["38"])["01"])
    assert account == {"00": "970436", "01": "0011004455667"}
    assert fields["01"] == "12" and fields["54"] == "8000" and fields["53"] == "704"
    additional = vietqr.sub_fields(fields["62"])
    assert additional["08"] == "Nop phi ho so 000.00.12.H56-261123-0001"


def test_a_code_without_an_amount_is_static():
    fields = vietqr.parse(vietqr.build(vietqr.Payment(bank_bin="970416", account="123")))
    assert fields["01"] == "11" and "54" not in fields


def test_a_changed_payload_fails_its_crc():
    with pytest.raises(vietqr.VietQRError, match="CRC"):
        vietqr.parse(EXAMPLE.replace("10000", "90000"))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"bank_bin": "97041"}, "BIN"),
        ({"account": "12 34"}, "tài khoản"),
        ({"amount": 0}, "Số tiền"),
        ({"amount": -5}, "Số tiền"),
    ],
)
def test_values_a_bank_would_reject_are_refused_in_vietnamese(changes, message):
    values = {"bank_bin": "970416", "account": "257678859", "amount": 1000, **changes}
    with pytest.raises(vietqr.VietQRError, match=message):
        vietqr.build(vietqr.Payment(**values))
