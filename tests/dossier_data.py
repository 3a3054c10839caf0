"""A procedure and small real files for one-stop-shop tests."""

import base64
import datetime
import io

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from reportlab.pdfgen import canvas

from xaso.dossiers import actions

BIRTH = {
    "code": "1.001193",
    "name": "Đăng ký khai sinh",
    "field": "Hộ tịch",
    "processing_days": 3,
    "fee_name": "Lệ phí đăng ký khai sinh",
    "fee_amount": 8000,
    "documents": [
        {"name": "Tờ khai đăng ký khai sinh", "required": True},
        {"name": "Giấy chứng sinh", "required": True},
        {"name": "Văn bản uỷ quyền", "required": False},
    ],
    "result_type": "Giấy khai sinh",
    "online_level": "full",
    "steps": [
        {"action": "receive", "role": "one_stop_officer", "share": 10},
        {"action": "appraise", "role": "specialist", "share": 50},
        {"action": "approve", "role": "commune_leader", "share": 30},
        {"action": "return", "role": "one_stop_officer", "share": 10},
    ],
}


def pdf_bytes(text: str = "Tờ khai") -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, text)
    page.save()
    return buffer.getvalue()


def self_signed_certificate(
    common_name: str, *, days: int, extensions=()
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A new RSA key and a certificate for it, signed by itself; `extensions` as
    (extension, critical) pairs."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(key, hashes.SHA256()), key


def birth_procedure(world):
    return actions.procedure_save(values=BIRTH, by=world.users["admin"])


def uploads() -> list[tuple[str, bytes, str]]:
    return [
        ("Tờ khai đăng ký khai sinh", pdf_bytes("To khai"), "to-khai.pdf"),
        ("Giấy chứng sinh", pdf_bytes("Chung sinh"), "chung-sinh.pdf"),
    ]


def documents_json() -> list[dict]:
    return [
        {"name": name, "filename": filename, "content_base64": base64.b64encode(data).decode()}
        for name, data, filename in uploads()
    ]


APPLICANT = {"name": "Nguyễn Thị Mai", "phone": "0912 345 678", "id_number": "022190001234"}
