"""The signed chain of a dossier's steps: writing a link, and checking the whole chain."""

from dataclasses import dataclass

from django.utils import timezone

from xaso.dossiers import signing
from xaso.dossiers.models import Dossier, DossierStep, SigningKey


def step_append(
    *,
    dossier: Dossier,
    action: str,
    from_status: str,
    by=None,
    note: str = "",
    file_hashes: dict[str, str] | None = None,
    receiver_name: str = "",
    timing: tuple[int | None, int | None, str] = (None, None, ""),
    data: dict | None = None,
) -> DossierStep:
    """Write the next step, signed and linked to the previous one. Call inside the transition's
    transaction, with the dossier row locked, so two steps never take the same number."""
    previous = dossier.steps.order_by("-seq").first()
    seq = previous.seq + 1 if previous else 1
    now = timezone.now()
    actor_name = (getattr(by, "full_name", "") or getattr(by, "username", "")) if by else ""
    record = {
        "dossier": dossier.code,
        "seq": seq,
        "action": action,
        "from": from_status,
        "to": dossier.status,
        "actor": getattr(by, "username", "") or "",
        "actor_name": actor_name,
        "receiver": receiver_name,
        "at": now.isoformat(),
        "note": note,
        "files": dict(sorted((file_hashes or {}).items())),
        "data": data or {},
        "previous": previous.record_hash if previous else "",
    }
    key = signing.signing_key_for(dossier.commune)
    digest = signing.record_hash(record)
    minutes_allowed, minutes_used, timeliness = timing
    return DossierStep.objects.create(
        dossier=dossier,
        seq=seq,
        action=action,
        from_status=from_status,
        to_status=dossier.status,
        actor=by if getattr(by, "pk", None) else None,
        actor_name=actor_name,
        receiver_name=receiver_name,
        at=now,
        note=note,
        minutes_allowed=minutes_allowed,
        minutes_used=minutes_used,
        timeliness=timeliness,
        record=record,
        record_hash=digest,
        previous_hash=record["previous"],
        signature=signing.sign_hash(key, digest),
        key_fingerprint=key.fingerprint,
    )


@dataclass(frozen=True)
class LinkCheck:
    seq: int
    action: str
    ok: bool
    problem: str = ""


@dataclass(frozen=True)
class ChainReport:
    links: list[LinkCheck]

    @property
    def intact(self) -> bool:
        return bool(self.links) and all(link.ok for link in self.links)

    @property
    def signed_steps(self) -> int:
        return sum(1 for link in self.links if link.ok)


def chain_verify(dossier: Dossier) -> ChainReport:
    """Recompute every record's hash, check its signature and its link to the one before."""
    certificates = dict(SigningKey.objects.values_list("fingerprint", "certificate_pem"))
    links, previous_hash, expected_seq = [], "", 1
    for step in dossier.steps.order_by("seq"):
        links.append(_check(step, certificates, previous_hash, expected_seq))
        # The next link must point at what this record hashes to now, so an edited record
        # breaks the link after it too, even if its stored hash was edited to match.
        previous_hash, expected_seq = signing.record_hash(step.record), step.seq + 1
    return ChainReport(links=links)


def _check(step: DossierStep, certificates, previous_hash: str, expected_seq: int) -> LinkCheck:
    def broken(problem: str) -> LinkCheck:
        return LinkCheck(step.seq, step.action, False, problem)

    if step.seq != expected_seq:
        return broken("Thiếu bước trước đó.")
    digest = signing.record_hash(step.record)
    if digest != step.record_hash:
        return broken("Nội dung bước đã bị thay đổi sau khi ký.")
    if _stored_fields_differ(step):
        return broken("Dữ liệu bước không khớp với bản ghi đã ký.")
    if step.record.get("previous", "") != previous_hash:
        return broken("Liên kết với bước trước bị đứt.")
    certificate = certificates.get(step.key_fingerprint)
    if certificate is None or not signing.signature_valid(certificate, digest, step.signature):
        return broken("Chữ ký số không hợp lệ.")
    return LinkCheck(step.seq, step.action, True)


def _stored_fields_differ(step: DossierStep) -> bool:
    record = step.record
    return (
        record.get("seq") != step.seq
        or record.get("action") != step.action
        or record.get("to") != step.to_status
        or record.get("note", "") != step.note
        or record.get("dossier") != step.dossier.code
    )
