"""Admission: how many image requests read and decode at once (memory is spent there), and how many may wait.

A request takes a slot before its body is read, so a waiting request holds no more than the
socket's buffers; the slots are as many as the inference threads (one per core). When
``max_waiting`` requests already wait, the next is answered 503 with ``Retry-After``
rather than let the queue (and the memory behind it) grow without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

RETRY_AFTER = 1  # seconds, in the 503's Retry-After header


class Busy(Exception):
    """Every slot is taken and the queue is full."""


class Admission:
    def __init__(self, slots: int, max_waiting: int) -> None:
        if slots < 1 or max_waiting < 0:
            raise ValueError(f"need at least one slot and a queue of 0 or more, got {slots}, {max_waiting}")
        self.slots = slots
        self.max_waiting = max_waiting
        self._free = asyncio.Semaphore(slots)
        self.waiting = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the block; raise ``Busy`` at once when the queue is full."""
        if self._free.locked() and self.waiting >= self.max_waiting:
            raise Busy(f"the server is busy ({self.slots} requests in work, {self.waiting} waiting)")
        self.waiting += 1
        try:
            await self._free.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._free.release()
