"""Generating a stamp run, and finding a stamp from a scanned code.

A run is all or nothing: codes, hashes and the print export are made outside the database,
then one transaction inserts every stamp and marks the run issued. A crash before that commit
leaves no stamp of the run; the export files are removed with it (see `stamp_run_generate`).
Plain codes are never stored: only HMAC hashes (lib/stamp_codes.py) and the one-time export.
"""

import csv
import hashlib
import shutil
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from xaso.core.errors import DomainError
from xaso.lib import gs1, labels, stamp_codes
from xaso.traceability.models import Stamp, StampRun

INSERT_CHUNK = 10_000
_HASH_BYTES = 16


@lru_cache(maxsize=4)
def _key_for(secret: str) -> bytes:
    return stamp_codes.derive_key(secret)


def stamp_key() -> bytes:
    return _key_for(settings.FIELD_ENCRYPTION_KEY)


def stamp_url(code: str) -> str:
    """The link in a stamp's QR code, in capitals so the QR code stays small."""
    return gs1.uppercase_uri(f"{settings.XASO_PUBLIC_URL}/S/{code}")


def stamp_find(text: str) -> Stamp | None:
    """The stamp a scanned or typed code names, with its run; None for anything else."""
    code = stamp_codes.normalize_code(text)
    if code is None:
        return None
    digest = stamp_codes.code_hash(code, key=stamp_key())
    return Stamp.objects.select_related("run").filter(code_hash=digest).first()


# --- Generation -------------------------------------------------------------------------------
def export_folder(run: StampRun) -> Path:
    return Path(settings.MEDIA_ROOT) / "stamps" / run.public_id


def stamp_run_generate(run: StampRun, progress: Callable[[int, int], None]) -> dict:
    """Make every code of the run, its CSV (and PDF) export, then insert all stamps at once."""
    if run.status != StampRun.Status.GENERATING:
        raise DomainError("đợt tem không ở trạng thái đang tạo")
    folder = export_folder(run)
    folder.mkdir(parents=True, exist_ok=True)
    with_pdf = run.count <= settings.XASO_STAMP_PDF_MAX
    steps = run.count * (3 if with_pdf else 2)  # codes, (labels,) insert
    try:
        csv_path = folder / f"tem-{run.public_id}.csv"
        hashes = _write_codes(run, csv_path, lambda done: progress(done, steps))
        pdf_path = None
        if with_pdf:
            pdf_path = folder / f"tem-{run.public_id}.pdf"
            _write_labels(run, csv_path, pdf_path, lambda done: progress(run.count + done, steps))
        manifest = _manifest(run, csv_path, pdf_path)
        _commit_run(run, hashes, csv_path, pdf_path, manifest)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        StampRun.objects.filter(pk=run.pk, status=StampRun.Status.GENERATING).update(
            status=StampRun.Status.FAILED
        )
        raise
    return {"run": run.public_id, "count": run.count, "manifest": manifest}


def _write_codes(run: StampRun, csv_path: Path, progress: Callable[[int], None]) -> bytearray:
    """Write serial, code and link of each new code; return their hashes, 16 bytes each."""
    key = stamp_key()
    hashes = bytearray()
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["serial", "code", "url"])
        codes = stamp_codes.new_codes(run.count)
        serial = 0
        while chunk := list(islice(codes, INSERT_CHUNK)):
            for code in chunk:
                serial += 1
                writer.writerow([serial, stamp_codes.readable(code), stamp_url(code)])
                hashes += bytes.fromhex(stamp_codes.code_hash(code, key=key))
            progress(serial)
    return hashes


def _labels_from_csv(csv_path: Path, caption: str) -> Iterator[labels.Label]:
    with csv_path.open(newline="", encoding="utf-8") as handle:
        for row in islice(csv.reader(handle), 1, None):
            yield labels.Label(url=row[2], code=row[1], caption=caption)


def _write_labels(run, csv_path: Path, pdf_path: Path, progress) -> None:
    labels.render_label_sheet(
        pdf_path,
        _labels_from_csv(csv_path, run.product.name[:40]),
        layout=labels.LAYOUTS[run.layout],
        font_path=settings.XASO_PDF_FONT,
        title=f"Tem chống giả {run.product.name} — đợt {run.public_id}",
        progress=progress,
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _manifest(run: StampRun, csv_path: Path, pdf_path: Path | None) -> dict:
    files = {"csv": {"name": csv_path.name, "sha256": _sha256(csv_path)}}
    if pdf_path is not None:
        files["pdf"] = {
            "name": pdf_path.name,
            "sha256": _sha256(pdf_path),
            "layout": f"{run.layout}-up A4",
        }
    return {
        "run": run.public_id,
        "product": run.product.public_id,
        "producer": run.producer.public_name,
        "first_serial": 1,
        "last_serial": run.count,
        "count": run.count,
        "operator": run.created_by.username if run.created_by else "",
        "generated_at": timezone.now().isoformat(),
        "files": files,
        "pdf_omitted": None if pdf_path else "đợt lớn hơn XASO_STAMP_PDF_MAX: in từ tệp CSV",
    }


def _relative(path: Path | None) -> str:
    return str(path.relative_to(settings.MEDIA_ROOT)) if path else ""


@transaction.atomic
def _commit_run(run, hashes: bytearray, csv_path: Path, pdf_path, manifest: dict) -> None:
    locked = StampRun.objects.select_for_update().get(pk=run.pk)
    if locked.status != StampRun.Status.GENERATING:
        raise DomainError("đợt tem đã bị thay đổi trong lúc tạo")
    _insert_stamps(run.pk, hashes)
    locked.status = StampRun.Status.ISSUED
    locked.csv_file, locked.pdf_file = _relative(csv_path), _relative(pdf_path)
    locked.manifest = manifest
    locked.save(update_fields=["status", "csv_file", "pdf_file", "manifest"])


_COLUMNS = "run_id, serial, code_hash, scan_count, first_province, last_province, suspicious"


def _insert_stamps(run_id: int, hashes: bytearray) -> None:
    count = len(hashes) // _HASH_BYTES
    table = Stamp._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is several times faster than INSERT for a million rows.
            with cursor.cursor.copy(f"COPY {table} ({_COLUMNS}) FROM STDIN") as copy:
                for start in range(0, count, INSERT_CHUNK):
                    copy.write(_copy_block(run_id, hashes, start, min(count, start + INSERT_CHUNK)))
            # Fresh statistics before the first scans: the scan journal's batch update of
            # counters picks its join from them (a sequential scan while they say "small").
            cursor.execute(f"ANALYZE {table}")
            return
        sql = f"INSERT INTO {table} ({_COLUMNS}) VALUES (%s, %s, %s, 0, '', '', false)"
        for start in range(0, count, INSERT_CHUNK):
            rows = [
                (run_id, index + 1, hashes[index * 16 : index * 16 + 16].hex())
                for index in range(start, min(count, start + INSERT_CHUNK))
            ]
            cursor.executemany(sql, rows)


def _copy_block(run_id: int, hashes: bytearray, start: int, end: int) -> str:
    return "".join(
        f"{run_id}\t{index + 1}\t{hashes[index * 16 : index * 16 + 16].hex()}\t0\t\t\tf\n"
        for index in range(start, end)
    )
