"""Run queued tasks in the test process with the real django-tasks database worker."""

from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def run_queued_tasks() -> None:
    """Claim and run every queued task with the worker's own code.

    Not `call_command("db_worker")`: its loop recycles the database connection, which would end
    the transaction each test runs in. The claim and the run are the worker's.
    """
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    while (task_result := DBTaskResult.objects.ready().get_locked()) is not None:
        task_result.claim(worker.worker_id)
        worker.run_task(task_result)
