"""Jobs of the notify module. Each is safe to run twice: a delivery is claimed before it is sent."""

from django_tasks import task

from xaso.notify import dispatch


@task()
def deliveries_dispatch_task(*, delivery_ids: list[int]) -> dict:
    """Send these deliveries if they are still queued and due (a retry, or worker dispatch)."""
    result = dispatch.deliveries_dispatch(delivery_ids=delivery_ids)
    return {
        "sent": len(result.sent),
        "retrying": len(result.retrying),
        "failed": len(result.failed),
    }


@task()
def deliveries_sweep_task() -> dict:
    result = dispatch.deliveries_sweep()
    return {
        "sent": len(result.sent),
        "retrying": len(result.retrying),
        "failed": len(result.failed),
    }


def _counts(result: dispatch.DispatchResult) -> dict:
    return {name: len(getattr(result, name)) for name in ("sent", "retrying", "failed")}
