"""RFC 3161 timestamps for the PAdES signatures of PDFs (baseline B-T), from the timestamp
authority at XASO_TSA_URL.

A timestamp shows that the signature existed at that moment, so the document stays verifiable
after the signing certificate expires or is revoked; Vietnam's public CAs each run such an
authority for their subscribers. pyHanko asks it with an HTTP POST (RFC 3161, section 3.4),
made here with the standard library rather than one more HTTP client.
"""

import asyncio
import urllib.request

from asn1crypto import tsp
from django.conf import settings
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError, set_tsp_headers

REPLY_TYPE = "application/timestamp-reply"
# Room in the signature field for the token: the authority's signature and certificates.
BYTES_RESERVED = 8192


class HttpTimeStamper(TimeStamper):
    def __init__(self, url: str, timeout: float):
        super().__init__()
        self.url = url
        self.timeout = timeout

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return await asyncio.to_thread(self._post, req.dump())

    def _post(self, query: bytes) -> tsp.TimeStampResp:
        request = urllib.request.Request(
            self.url, data=query, headers=set_tsp_headers({}), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                content_type = response.headers.get("Content-Type", "")
                reply = response.read()
        except (OSError, ValueError) as error:  # refused, timed out, an HTTP error status
            raise TimestampRequestError(f"{self.url}: {error}") from error
        if content_type != REPLY_TYPE:
            raise TimestampRequestError(f"{self.url}: {content_type!r} is not {REPLY_TYPE}")
        return tsp.TimeStampResp.load(reply)


def authority() -> HttpTimeStamper | None:
    """The configured timestamp authority; None when XASO_TSA_URL is empty."""
    if not settings.XASO_TSA_URL:
        return None
    return HttpTimeStamper(settings.XASO_TSA_URL, settings.XASO_TSA_TIMEOUT)
