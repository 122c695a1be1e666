"""Swapping the served model without a restart.

``ModelSlot`` holds the ``Recognizer`` that requests use. A reload loads the new model off the event
loop, then swaps the reference: a request that already took the old recognizer finishes on it, the
next one gets the new one, none waits or fails. A model that does not load leaves the old one serving.

Several worker processes (``serve --workers N``) each hold their own slot. They agree through two
files that each worker's poll task looks at every ``poll`` seconds (a ``stat`` or two; chosen over a
check on each request so that the request path stays as it was):

* the model file itself: replaced (``mv new.onnx model.onnx``) or rewritten, it is loaded again;
* the reload marker (``serve`` makes one per run): ``POST /api/v1/model/reload`` writes the path
  it loaded there, and the other workers load the same path when they see the marker change.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from digitreader.engine import Recognizer, resolve_model
from digitreader.errors import ModelError

log = logging.getLogger("digitreader.server")
Signature = tuple[int, int, int] | None  # (inode, size, mtime_ns) of a file; None when it is missing


def signature(path: Path | None) -> Signature:
    try:
        st = os.stat(path) if path is not None else None
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns) if st is not None else None


def load(model: str | os.PathLike[str], line_from: Recognizer | None = None) -> Recognizer:
    """A recognizer for ``model``, ready to answer (its line reader loaded, or shared with ``line_from``
    when both use the same one): the first request after a swap is not slower than the others."""
    try:
        recognizer = Recognizer(model, threads=1)
        logits = recognizer.logits(np.zeros((1, 28, 28), np.float32))
    except ModelError:
        raise
    except Exception as exc:  # a card that is not JSON, a graph with other inputs ...
        raise ModelError(f"{model} is not a digitreader model: {type(exc).__name__}: {exc}") from exc
    if logits.shape not in ((1, 10), (1, 11)):
        raise ModelError(f"{model} is not a digit model: it answers {list(logits.shape)}, not [1, 10]")
    if line_from is not None and line_from.line_model_path == recognizer.line_model_path:
        recognizer._line = line_from._line  # the same file: loaded once
    if line_from is not None and line_from._field_model == recognizer._field_model:
        recognizer._field = line_from._field
    _ = recognizer.line_reader, recognizer.field_reader
    return recognizer


class ModelSlot:
    """The served recognizer, the path it was started with, and the means to swap it."""

    def __init__(self, recognizer: Recognizer, marker: Path | None = None, poll: float = 1.0) -> None:
        self.recognizer = recognizer
        self.started_with = recognizer.path
        self.marker = marker
        self.poll = poll
        self._lock = threading.RLock()  # one load or check at a time in this process
        self._seen = (signature(recognizer.path), signature(marker))
        self.reloads = 0

    def reload(self, model: str | os.PathLike[str] | None = None, announce: bool = True) -> Recognizer:
        """Load ``model`` (default: the path the server started with) and swap it in; ``ModelError`` when it
        does not load (the old model keeps serving). Blocking: call it from a thread."""
        path = resolve_model(model) if model is not None else self.started_with
        if model is not None and not Path(path).is_file():
            raise ModelError(f"model file {path} does not exist")
        with self._lock:
            new = load(path, line_from=self.recognizer)
            self.recognizer = new  # the swap: one reference; requests in work keep the one they took
            self.reloads += 1
            if announce and self.marker is not None:
                self._announce(new)
            self._seen = (signature(new.path), signature(self.marker))
        log.info("now serving model %r (%s, sha256 %s)", new.name, new.path, new.sha256[:12])
        return new

    def _announce(self, recognizer: Recognizer) -> None:
        """Tell the other workers: write the marker atomically (a new file renamed over the old)."""
        assert self.marker is not None
        doc = {"model": str(Path(recognizer.path).resolve()), "sha256": recognizer.sha256, "nonce": uuid.uuid4().hex}
        tmp = self.marker.with_name(f".{self.marker.name}.{os.getpid()}")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, self.marker)

    def check(self) -> bool:
        """Reload when the marker or the model file changed since last seen; True when it swapped. Blocking."""
        with self._lock:  # not between a reload's own marker write and its note of it
            return self._check()

    def _check(self) -> bool:
        model_sig, marker_sig = signature(self.recognizer.path), signature(self.marker)
        if (model_sig, marker_sig) == self._seen:
            return False
        if marker_sig != self._seen[1] and marker_sig is not None:
            wanted = _read_marker(self.marker)
            self._seen = (self._seen[0], marker_sig)
            if wanted is not None:  # another worker reloaded (our own writes are in _seen already)
                return self._try(wanted.get("model"))
        if model_sig != self._seen[0]:
            self._seen = (model_sig, self._seen[1])
            if model_sig is not None:  # a file being replaced may be missing for a moment: wait for it
                return self._try(str(self.recognizer.path))
        return False

    def _try(self, model: Any) -> bool:
        try:
            self.reload(model, announce=False)
        except (ModelError, OSError, ValueError) as exc:  # e.g. a file half written: the old model stays
            log.warning("model not reloaded, the old one keeps serving: %s", exc)
            return False
        return True

    async def watch(self) -> None:
        """Check every ``poll`` seconds, for ever (the app's lifespan cancels it)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.poll)
            try:
                await loop.run_in_executor(None, self.check)
            except Exception:  # never let the watch die
                log.exception("model watch failed")


def _read_marker(marker: Path | None) -> dict[str, Any] | None:
    try:
        doc = json.loads(marker.read_text()) if marker is not None else None
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
