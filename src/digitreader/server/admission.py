"""Admission: how many image requests read and decode at once (memory is spent there), and how many may wait.

A request takes a slot before its body is read, so a waiting request holds no more than the
socket's buffers; the slots are a few per inference thread (one thread per core). When
``max_waiting`` requests already wait, the next is answered 503 with ``Retry-After``
rather than let the queue (and the memory behind it) grow without bound.

Within a slot, decoding also draws on a memory budget: an image costs about ``BYTES_PER_PIXEL``
per pixel of its header's size while it is decoded and its ink found (measured: a 40 MP WebP
peaks at about 450 MB), so two images of 40 MP are never decoded at once while small ones are.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

RETRY_AFTER = 1  # seconds, in the 503's Retry-After header
BYTES_PER_PIXEL = 12  # peak memory of decoding and finding the ink, per pixel of the image


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


class Budget:
    """A pool of bytes that decodes draw on; a request waits until its share is free."""

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError(f"the memory budget must be positive, got {total}")
        self.total = total
        self.used = 0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def hold(self, amount: int) -> AsyncIterator[None]:
        """Hold ``amount`` bytes of the budget (at most all of it) for the block."""
        amount = max(0, min(amount, self.total))
        if amount == 0:  # nothing to decode (a ready 28x28): no need to queue
            yield
            return
        async with self._changed:
            await self._changed.wait_for(lambda: self.used + amount <= self.total)
            self.used += amount
        try:
            yield
        finally:
            async with self._changed:
                self.used -= amount
                self._changed.notify_all()
