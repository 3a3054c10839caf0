"""Carrying deliveries out: claim, hand to the channel's sender, record; retries and the sweep.

A delivery is claimed with a conditional UPDATE (queued and due → sending), so two dispatchers
(threads, processes, machines) never send it twice. Each delivery is sent on its own: one
failing or slow channel never holds up another. A failure is retried with backoff
(`BACKOFF`) until XASO_NOTIFY_MAX_ATTEMPTS, then the delivery is "failed". See decision 0012.

Three roads lead here, all through `deliveries_dispatch`:
- right after the message's transaction commits, `hand_off` (a thread pool in this process,
  or inline), so an alert is on its way in milliseconds;
- a retry: the `deliveries_dispatch_task` job, enqueued to run when the backoff ends;
- `deliveries_sweep` (every 15 s in `xaso clock`; `xaso notify_sweep` once): whatever is due
  and was lost (a process that died before handing off, or while sending).
"""

import datetime
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import connections
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.lib.crypto import DecryptionError
from xaso.notify import conf
from xaso.notify.channels import SENDERS, Outgoing, SendError
from xaso.notify.models import Channel, Delivery

logger = logging.getLogger(__name__)

# Wait after the 1st, 2nd, … failed attempt; the last value repeats.
BACKOFF = [
    datetime.timedelta(seconds=30),
    datetime.timedelta(minutes=2),
    datetime.timedelta(minutes=10),
    datetime.timedelta(hours=1),
    datetime.timedelta(hours=6),
]
# A delivery "sending" for longer than this lost its sender (the process died): sent again.
STALE_SENDING = datetime.timedelta(minutes=5)


def backoff(attempts: int) -> datetime.timedelta:
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


@dataclass
class DispatchResult:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)  # not queued, not due, or claimed elsewhere

    def __bool__(self) -> bool:  # something happened (the clock logs only then)
        return bool(self.sent or self.retrying or self.failed)

    def __str__(self) -> str:
        return f"{len(self.sent)} sent, {len(self.retrying)} to retry, {len(self.failed)} failed"


def deliveries_dispatch(*, delivery_ids) -> DispatchResult:
    """Send each queued and due delivery of `delivery_ids`, one by one; never raises for one."""
    result = DispatchResult()
    for delivery_id in delivery_ids:
        try:
            outcome = _dispatch_one(delivery_id)
        except Exception:  # a bug in one sender must not stop the others
            logger.exception("delivery %s: unexpected error", delivery_id)
            try:
                outcome = _record_failure(delivery_id, _("Lỗi hệ thống khi gửi."), permanent=False)
            except Exception:  # the database itself is failing: the sweep will retry
                logger.exception("delivery %s: could not record the failure", delivery_id)
                outcome = "skipped"
        getattr(result, outcome).append(delivery_id)
    return result


def _claim(delivery_id: int) -> bool:
    now = timezone.now()
    return bool(
        Delivery.objects.filter(
            pk=delivery_id, status=Delivery.Status.QUEUED, next_attempt_at__lte=now
        ).update(status=Delivery.Status.SENDING, attempts=F("attempts") + 1, claimed_at=now)
    )


def _outgoing(delivery: Delivery) -> Outgoing:
    message = delivery.message
    base = conf.public_url()

    def absolute(url: str) -> str:
        return f"{base}{url}" if url.startswith("/") else url

    return Outgoing(
        delivery_id=delivery.public_id,
        message_id=message.public_id,
        subject=message.subject,
        body=message.body,
        url=absolute(message.url),
        actions=[{**action, "url": absolute(action["url"])} for action in message.actions],
        severity=message.severity,
        created_at=message.created_at.isoformat(),
    )


def _dispatch_one(delivery_id: int) -> str:
    if not _claim(delivery_id):
        return "skipped"
    delivery = Delivery.objects.select_related("message", "channel").get(pk=delivery_id)
    channel = delivery.channel
    if channel is None and not delivery.address_encrypted:
        return _record_failure(delivery_id, _("Kênh đã bị xoá."), permanent=True)
    if channel is not None and not channel.is_active:
        return _record_failure(delivery_id, _("Kênh đã bị tắt."), permanent=True)
    try:
        config = channel.config if channel is not None else {}
        address = delivery.address
    except DecryptionError:
        return _record_failure(
            delivery_id, _("Không giải mã được cấu hình kênh (XASO_FIELD_KEY)."), permanent=True
        )
    handed_at = timezone.now()
    try:
        SENDERS[delivery.kind](_outgoing(delivery), config, address)
    except SendError as error:
        if channel is not None and error.permanent and delivery.kind == "webpush":
            Channel.objects.filter(pk=channel.pk).update(is_active=False)
        return _record_failure(delivery_id, error.message, permanent=error.permanent)
    now = timezone.now()
    Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.SENT, handed_at=handed_at, sent_at=now, last_error=""
    )
    if channel is not None:
        Channel.objects.filter(pk=channel.pk).update(last_success_at=now, last_error="")
    return "sent"


def _record_failure(delivery_id: int, error: str, *, permanent: bool) -> str:
    error = error[:500]
    delivery = Delivery.objects.filter(pk=delivery_id).only("attempts", "channel_id").first()
    if delivery is None:
        return "skipped"
    if delivery.channel_id:
        Channel.objects.filter(pk=delivery.channel_id).update(last_error=error)
    sending = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.SENDING)
    if permanent or delivery.attempts >= conf.max_attempts():
        sending.update(status=Delivery.Status.FAILED, last_error=error)
        return "failed"
    retry_at = timezone.now() + backoff(delivery.attempts)
    if sending.update(status=Delivery.Status.QUEUED, next_attempt_at=retry_at, last_error=error):
        _schedule_retry(delivery_id, retry_at)
    return "retrying"


def _schedule_retry(delivery_id: int, retry_at: datetime.datetime) -> None:
    from xaso.notify.tasks import deliveries_dispatch_task

    try:
        deliveries_dispatch_task.using(run_after=retry_at).enqueue(delivery_ids=[delivery_id])
    except Exception:  # the sweep will find it when due
        logger.exception("delivery %s: could not enqueue the retry", delivery_id)


def deliveries_sweep(*, limit: int = 500) -> DispatchResult:
    """Requeue deliveries whose sender died, then send everything queued and due."""
    now = timezone.now()
    Delivery.objects.filter(
        status=Delivery.Status.SENDING, claimed_at__lt=now - STALE_SENDING
    ).update(status=Delivery.Status.QUEUED, next_attempt_at=now)
    due = list(
        Delivery.objects.filter(status=Delivery.Status.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return deliveries_dispatch(delivery_ids=due)


# --- Right after commit: a small pool of threads in this process -------------------------------
class Dispatcher:
    """Sends deliveries on a few threads of this process, each delivery on its own."""

    def __init__(self, *, workers: int, initializer=None):
        self.workers = workers
        self.initializer = initializer  # run once in each new thread
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:  # made on first use, so after gunicorn forks, never before
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.workers,
                    thread_name_prefix="xaso-notify",
                    initializer=self.initializer,
                )
            return self._executor

    def submit(self, delivery_ids) -> list[Future]:
        return [self._pool().submit(_dispatch_in_thread, pk) for pk in delivery_ids]

    def shutdown(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None


def _dispatch_in_thread(delivery_id: int) -> DispatchResult:
    _close_unusable_connections()
    try:
        return deliveries_dispatch(delivery_ids=[delivery_id])
    finally:
        _close_unusable_connections()


def _close_unusable_connections() -> None:
    """What Django does around a request, for this thread's own connections."""
    for connection in connections.all(initialized_only=True):
        if not connection.allow_thread_sharing:  # a connection lent by another thread
            connection.close_if_unusable_or_obsolete()


dispatcher = Dispatcher(workers=conf.threads())


def hand_off(delivery_ids: list[int]) -> None:
    """Called once the deliveries are committed: start sending now (see conf.dispatch_mode)."""
    if not delivery_ids:
        return
    mode = conf.dispatch_mode()
    if mode == "inline":
        deliveries_dispatch(delivery_ids=delivery_ids)
    elif mode == "thread":
        dispatcher.submit(delivery_ids)
    else:
        from xaso.notify.tasks import deliveries_dispatch_task

        deliveries_dispatch_task.enqueue(delivery_ids=list(delivery_ids))
