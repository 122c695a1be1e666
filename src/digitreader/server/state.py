"""What the app holds for its lifetime: the model (loaded once), the limits, the inference pool."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from digitreader.engine import Recognizer
from digitreader.server.limits import Limits


@dataclass
class ServerState:
    recognizer: Recognizer
    limits: Limits
    executor: ThreadPoolExecutor
