"""What the app holds for its lifetime: the model (loaded once, swappable), the limits, the inference pool,
the admission, the corrections database and the admin token."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from digitreader.corrections.store import CorrectionStore
from digitreader.engine import Recognizer
from digitreader.server.admission import Admission, Budget
from digitreader.server.limits import Limits
from digitreader.server.swap import ModelSlot

SLOTS_PER_THREAD = 4


@dataclass
class ServerState:
    models: ModelSlot
    limits: Limits
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    corrections: CorrectionStore | None = None  # None: POST /api/v1/corrections is off (404)
    admin_token: str | None = None  # None: the admin endpoints answer 404
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _admission: Admission | None = field(default=None, repr=False)
    _budget: Budget | None = field(default=None, repr=False)

    @property
    def recognizer(self) -> Recognizer:
        """The model now served (a request takes it once and keeps it, whatever a reload does meanwhile)."""
        return self.models.recognizer

    def open(self) -> None:
        """Start the pool, a fresh admission and budget (their locks belong to the running event loop)."""
        self.pool()
        self._admission = Admission(self.slots, self.limits.max_waiting)
        self._budget = Budget(self.limits.decode_budget_bytes)

    def budget(self) -> Budget:
        """The memory that decodes in progress may use together."""
        if self._budget is None:
            self._budget = Budget(self.limits.decode_budget_bytes)
        return self._budget

    @property
    def slots(self) -> int:
        """Requests that may hold a body at once: a few per inference thread, so that the pool always
        has the next one ready (measured: one per thread left the pool idle between requests and
        cost a third of the throughput at 200 clients). Memory is bounded by the budget."""
        return SLOTS_PER_THREAD * self.threads

    def admission(self) -> Admission:
        """At most ``slots`` requests read and decode a body at once."""
        if self._admission is None:
            self._admission = Admission(self.slots, self.limits.max_waiting)
        return self._admission

    def pool(self) -> ThreadPoolExecutor:
        """The inference thread pool, started on first use (and again after ``close``: an app may be restarted)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="digitreader")
            return self._pool

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
