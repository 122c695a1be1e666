"""Absolute paths out of what a model card shows: a build machine's folders are nobody's business.

``/work/shared/data/mnist`` becomes ``<redacted>/mnist`` (the last part says what it was);
relative paths, URLs and other text stay as they are.
"""

from __future__ import annotations

import re
from typing import Any

# An absolute POSIX or Windows path that starts a token (after a space, "=", a quote or the start).
_ABSOLUTE = re.compile(r"""(^|[\s='"(])(?:/|~/|[A-Za-z]:[\\/])(?:[^\s'"/\\]+[\\/])*([^\s'"/\\]*)""")


def redact_paths(text: str) -> str:
    """``text`` with every absolute path replaced by ``<redacted>/<its last part>``."""
    return _ABSOLUTE.sub(lambda m: f"{m.group(1)}<redacted>/{m.group(2)}", text)


def redact_card(value: Any) -> Any:
    """A copy of a model card (any JSON value) with ``redact_paths`` applied to every string."""
    if isinstance(value, str):
        return redact_paths(value)
    if isinstance(value, dict):
        return {k: redact_card(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_card(v) for v in value]
    return value
