"""One object per process, made on first use, and the one thread such an object starts.

For objects that own threads, files or connections (the scan journal, the kept lots): a
gunicorn worker forked from a parent that had one must make its own, since the parent's
threads did not follow it into the child.
"""

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    def __init__(self, make: Callable[[], T]):
        self._make = make
        self._lock = threading.Lock()
        self._made: tuple[int, T] | None = None  # (pid, object)

    def get(self) -> T:
        made = self._made
        if made is not None and made[0] == os.getpid():
            return made[1]
        with self._lock:
            if self._made is None or self._made[0] != os.getpid():
                self._made = (os.getpid(), self._make())
            return self._made[1]

    def forget(self) -> None:
        """The next get() makes a new object (tests)."""
        with self._lock:
            self._made = None


class BackgroundThread:
    """A daemon thread that runs `target`, started by whichever caller first needs it."""

    def __init__(self, target: Callable[[], None], name: str):
        self._target = target
        self._name = name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start_once(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._target, name=self._name, daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
