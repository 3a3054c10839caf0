"""Signed PDFs carry an RFC 3161 timestamp (PAdES B-T) when XASO_TSA_URL names a timestamp
authority, and fall back to a signature without one (B-B) when it does not answer.

The authority is a real HTTP server on this machine whose replies pyHanko's test authority
signs with a timestamping certificate made here; pyHanko validates the results."""

import asyncio
import datetime
import io
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import DummyTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from tests.dossier_data import pdf_bytes, self_signed_certificate
from tests.test_dossier_forms import validation_context
from xaso.dossiers import printing, signing, timestamps


class TimestampAuthority:
    """An RFC 3161 authority over HTTP on 127.0.0.1, counting the requests it answered."""

    def __init__(self):
        certificate, key = self_signed_certificate(
            "TSA thử nghiệm",
            days=30,
            extensions=[(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True)],
        )
        self.certificate = asn1_x509.Certificate.load(
            certificate.public_bytes(serialization.Encoding.DER)
        )
        private_der = key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        private_key = asn1_keys.PrivateKeyInfo.load(private_der)
        self.stamper = DummyTimeStamper(self.certificate, private_key)
        self.answered = 0

    def reply(self, query: bytes) -> bytes:
        request = tsp.TimeStampReq.load(query)
        response = asyncio.run(self.stamper.async_request_tsa_response(request))
        self.answered += 1
        return response.dump()


def answer(handler: BaseHTTPRequestHandler, content_type: str, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def serve(handler_class) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def authority():
    tsa = TimestampAuthority()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            query = self.rfile.read(int(self.headers["Content-Length"]))
            answer(self, timestamps.REPLY_TYPE, tsa.reply(query))

        def log_message(self, *args):
            pass

    server = serve(Handler)
    tsa.url = f"http://127.0.0.1:{server.server_port}/tsa"
    yield tsa
    server.shutdown()


@pytest.fixture
def not_an_authority():
    """A web server that answers every POST with an HTML page."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            answer(self, "text/html; charset=utf-8", "<!doctype html><p>Trang chủ</p>".encode())

        def log_message(self, *args):
            pass

    server = serve(Handler)
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def signature_status(data: bytes, commune, authority_certificate=None):
    embedded = PdfFileReader(io.BytesIO(data)).embedded_signatures[-1]
    roots = [authority_certificate] if authority_certificate else []
    return validate_pdf_signature(
        embedded,
        signer_validation_context=validation_context(commune),
        ts_validation_context=ValidationContext(trust_roots=roots),
    )


def test_a_signed_pdf_carries_the_authoritys_timestamp(world, settings, authority):
    settings.XASO_TSA_URL = authority.url
    before = datetime.datetime.now(datetime.UTC)
    signed = printing.sign_document(pdf_bytes(), world.commune_a, "Tiếp nhận hồ sơ")
    status = signature_status(signed, world.commune_a, authority.certificate)
    assert status.bottom_line, status.pretty_print_details()
    stamp = status.timestamp_validity
    assert stamp is not None and stamp.intact and stamp.valid and stamp.trusted
    assert (
        before - datetime.timedelta(seconds=1)
        <= stamp.timestamp
        <= datetime.datetime.now(datetime.UTC)
    )
    assert authority.answered == 1


@pytest.mark.parametrize("tsa", ["refused", "not an authority"])
def test_without_an_answering_authority_the_pdf_is_signed_without_a_timestamp(
    world, settings, caplog, not_an_authority, tsa
):
    settings.XASO_TSA_URL = "http://127.0.0.1:9/tsa" if tsa == "refused" else not_an_authority
    with caplog.at_level(logging.WARNING, logger="xaso.dossiers.signing"):
        signed = printing.sign_document(pdf_bytes(), world.commune_a, "Tiếp nhận hồ sơ")
    status = signature_status(signed, world.commune_a)
    assert status.bottom_line, status.pretty_print_details()
    assert status.timestamp_validity is None
    assert "PDF signed without a timestamp" in caplog.text


def test_no_authority_configured_asks_none(world, settings, authority):
    settings.XASO_TSA_URL = ""
    signed = signing.sign_pdf(
        pdf_bytes(), signing.signing_key_for(world.commune_a), reason="Tiếp nhận hồ sơ"
    )
    assert signature_status(signed, world.commune_a).timestamp_validity is None
    assert authority.answered == 0
