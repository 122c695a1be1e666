"""A labels CSV: images and the digits written in them (``corrections export`` writes one).

Columns ``file`` (relative to the CSV's folder) and ``label`` are needed; ``mode`` is ``predict``
(one digit) or ``read`` (a number; lines joined by newlines), guessed from the label when absent.
"""

from __future__ import annotations

import csv
from pathlib import Path


def normal(text: str) -> str:
    """A label or a reading as compared: each line stripped, blank lines gone, joined by newlines."""
    return "\n".join(line.strip() for line in str(text).strip().splitlines() if line.strip())


def read_labels(csv_path: str | Path) -> list[dict[str, str]]:
    """The rows of a labels CSV, with ``path`` (the image's path from here), ``label`` and ``mode`` filled in."""
    csv_path = Path(csv_path)
    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "label"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{csv_path} has no {' or '.join(sorted(missing))} column (need file,label[,mode,...])")
        rows = [dict(r) for r in reader]
    for r in rows:
        r["path"] = str(csv_path.parent / (r.get("file") or ""))
        r["label"] = normal(r.get("label") or "")
        r["mode"] = (r.get("mode") or "").strip() or ("predict" if len(r["label"]) == 1 else "read")
    return rows
