"""The commune's signing identity: step records signed and chained, PDFs signed with PAdES.

A commune uses one active `SigningKey`: an RSA key (stored encrypted with XASO_FIELD_KEY) and
its X.509 certificate. A real commune imports its certificate as PKCS#12 (`signing_key_import`);
without one, `signing_key_for` generates a demo CA and a certificate issued by it, labelled as
not for real use, so the demo and the tests sign for real.

Step records are signed with RSA-PSS over the SHA-256 of their canonical JSON; PDFs get a
PAdES baseline signature (pyHanko, /ETSI.CAdES.detached) that pyHanko and Adobe Reader
validate once the CA is trusted, timestamped when XASO_TSA_URL names an authority.
"""

import base64
import datetime
import hashlib
import io
import json
import logging

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from xaso.core import audit
from xaso.core.errors import InvalidInput
from xaso.dossiers.models import SigningKey
from xaso.lib import crypto
from xaso.places.models import Place

logger = logging.getLogger(__name__)

DEMO_LABEL = "Chứng thư số tự sinh (chỉ dùng thử, không có giá trị pháp lý)"
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)


# --- Keys ---------------------------------------------------------------------------------------
def _secret() -> str:
    return settings.FIELD_ENCRYPTION_KEY


def _fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _store(commune: Place, label: str, key, certificate, chain: list) -> SigningKey:
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    SigningKey.objects.filter(commune=commune, is_active=True).update(is_active=False)
    return SigningKey.objects.create(
        commune=commune,
        label=label,
        certificate_pem=_pem(certificate),
        chain_pem="".join(_pem(issuer) for issuer in chain),
        private_key_encrypted=crypto.encrypt(private_pem, secret=_secret()),
        fingerprint=_fingerprint(certificate),
    )


def _name(common_name: str, commune: Place) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"UBND {commune.name}"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(subject, issuer, public_key, signing_key, *, ca: bool, days: int):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(signing_key, hashes.SHA256())


@transaction.atomic
def signing_key_generate_demo(*, commune: Place) -> SigningKey:
    """A demo CA and a commune certificate it issues (3 years). Not for real use."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name(f"XaSo Demo CA - {commune.code}", commune)
    ca = _certificate(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True, days=3650)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = _name(f"UBND {commune.name} (demo)", commune)
    certificate = _certificate(subject, ca_name, key.public_key(), ca_key, ca=False, days=1095)
    signing_key = _store(commune, DEMO_LABEL, key, certificate, [ca])
    audit.record(
        actor=None, verb="signing_key.generated", target=signing_key, place_path=commune.path
    )
    return signing_key


@transaction.atomic
def signing_key_import(
    *, commune: Place, pkcs12_data: bytes, passphrase: str, label: str, by
) -> SigningKey:
    """Import the commune's certificate and key from a PKCS#12 (.p12/.pfx) file."""
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(
            pkcs12_data, passphrase.encode() if passphrase else None
        )
    except ValueError as error:
        raise InvalidInput(
            _("Không đọc được tệp PKCS#12 (sai mật khẩu hoặc tệp hỏng)."), field="file"
        ) from error
    if key is None or certificate is None or not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidInput(_("Tệp PKCS#12 phải chứa khoá RSA và chứng thư số."), field="file")
    if SigningKey.objects.filter(fingerprint=_fingerprint(certificate)).exists():
        raise InvalidInput(_("Chứng thư số này đã được nhập."), field="file")
    signing_key = _store(
        commune, label or certificate.subject.rfc4514_string(), key, certificate, chain or []
    )
    audit.record(actor=by, verb="signing_key.imported", target=signing_key, place_path=commune.path)
    return signing_key


def signing_key_for(commune: Place) -> SigningKey:
    """The commune's active key; a demo key is generated the first time one is needed."""
    key = SigningKey.objects.filter(commune=commune, is_active=True).first()
    return key or signing_key_generate_demo(commune=commune)


def _private_key(signing_key: SigningKey):
    pem = crypto.decrypt(signing_key.private_key_encrypted, secret=_secret())
    return serialization.load_pem_private_key(pem.encode(), password=None)


def certificate(signing_key: SigningKey) -> x509.Certificate:
    return x509.load_pem_x509_certificate(signing_key.certificate_pem.encode())


def chain(signing_key: SigningKey) -> list[x509.Certificate]:
    if not signing_key.chain_pem:
        return []
    return x509.load_pem_x509_certificates(signing_key.chain_pem.encode())


# --- Step records -------------------------------------------------------------------------------
def canonical(record: dict) -> bytes:
    """The exact bytes that are hashed and signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: dict) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


def sign_hash(signing_key: SigningKey, digest_hex: str) -> str:
    signature = _loaded_private_key(signing_key).sign(
        bytes.fromhex(digest_hex), PSS, hashes.SHA256()
    )
    return base64.b64encode(signature).decode()


def signature_valid(certificate_pem: str, digest_hex: str, signature_b64: str) -> bool:
    try:
        public_key = x509.load_pem_x509_certificate(certificate_pem.encode()).public_key()
        public_key.verify(
            base64.b64decode(signature_b64), bytes.fromhex(digest_hex), PSS, hashes.SHA256()
        )
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


# --- PDFs ---------------------------------------------------------------------------------------
# Loading an RSA key runs OpenSSL's consistency check (~0.15 s), and pyHanko's SimpleSigner
# loads it twice per document (a dummy signature sizes the field, then the real one). So the
# key is loaded once per process, and the field is sized from the certificates: a form is
# signed in a few tens of milliseconds (decision 0016).
_LOADED_KEYS: dict[str, object] = {}


def _loaded_private_key(signing_key: SigningKey):
    key = _LOADED_KEYS.get(signing_key.fingerprint)
    if key is None:
        key = _LOADED_KEYS.setdefault(signing_key.fingerprint, _private_key(signing_key))
    return key


def _signature_bytes_reserved(certificates: list[x509.Certificate]) -> int:
    """Room for the CMS: the certificates, the signature, attributes and a safe margin, in
    whole kilobytes (pyHanko wants an even number)."""
    der = sum(len(c.public_bytes(serialization.Encoding.DER)) for c in certificates)
    return -(-(der + 4096) // 1024) * 1024


def sign_pdf(
    pdf: bytes, signing_key: SigningKey, *, reason: str, field_name: str = "ChuKyUBND"
) -> bytes:
    """A PAdES baseline signature over the whole document (RSA PKCS#1 v1.5, SHA-256,
    /ETSI.CAdES.detached), with the certificate chain embedded: B-T, with a timestamp, when a
    timestamp authority is configured (dossiers/timestamps.py) and answers; else B-B."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    from xaso.dossiers import timestamps

    private_key = _loaded_private_key(signing_key)

    class LoadedKeySigner(signers.Signer):
        async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run=False):
            return private_key.sign(
                data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm)
            )

    def asn1(certificate_: x509.Certificate):
        return asn1_x509.Certificate.load(certificate_.public_bytes(serialization.Encoding.DER))

    own, issuers = certificate(signing_key), chain(signing_key)
    signer = LoadedKeySigner(
        signing_cert=asn1(own),
        cert_registry=SimpleCertificateStore.from_certs([asn1(c) for c in issuers]),
    )
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason,
        location="Việt Nam",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    reserved = _signature_bytes_reserved([own, *issuers])

    def signed(timestamper) -> bytes:
        output = io.BytesIO()
        signers.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(pdf)),
            metadata,
            signer=signer,
            timestamper=timestamper,
            output=output,
            bytes_reserved=reserved + (timestamps.BYTES_RESERVED if timestamper else 0),
        )
        return output.getvalue()

    authority = timestamps.authority()
    if authority is None:
        return signed(None)
    try:
        return signed(authority)
    except TimestampRequestError as error:
        # The step goes on with a signature that holds without the timestamp.
        logger.warning("PDF signed without a timestamp: %s", error)
        return signed(None)
