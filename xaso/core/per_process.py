"""One object per process, made on first use.

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
