"""The corrections database: one SQLite file (WAL), safe for several server processes at once.

Each row keeps the image exactly as the user gave it (pixels input: a 28x28 PNG), the model's
answer, what the user says they wrote, the model's sha256, the mode and the time. A write is
one transaction: a process killed mid-write leaves the committed rows and no broken one.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MODES = ("predict", "read")
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0  # writers from other processes wait this long for the lock
_SCHEMA = """
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('predict', 'read')),
    label TEXT NOT NULL,
    answer TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    image_sha256 TEXT NOT NULL,
    image BLOB NOT NULL
)
"""
_FIELDS = "id, created, mode, label, answer, model_sha256, media_type, image_sha256, length(image)"


def default_path() -> Path:
    """``$XDG_DATA_HOME/digitreader/corrections.sqlite3`` (``~/.local/share/...`` when unset)."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "digitreader" / "corrections.sqlite3"


def check_label(label: str, mode: str) -> str:
    """The label as stored: digits only (``read``: lines joined by newlines); ValueError otherwise."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    text = "\n".join(line.strip() for line in str(label).strip().splitlines())
    if not text or not all(c.isdigit() or c == "\n" for c in text) or not text.isascii():
        raise ValueError(f"label must be the digits you wrote (0-9), not {label!r}")
    if mode == "predict" and len(text) != 1:
        raise ValueError(f"a predict correction is one digit (0-9), not {label!r}")
    return text


@dataclass(frozen=True)
class Correction:
    """One correction; ``image`` is None when listed without images."""

    mode: str
    label: str
    answer: dict[str, Any]
    model_sha256: str
    media_type: str
    image: bytes | None = field(default=None, repr=False)
    id: int | None = None
    created: str = ""
    image_sha256: str = ""
    image_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The row without its image (what listings show)."""
        return {
            "id": self.id,
            "created": self.created,
            "mode": self.mode,
            "label": self.label,
            "answer": self.answer,
            "model_sha256": self.model_sha256,
            "media_type": self.media_type,
            "image_sha256": self.image_sha256,
            "image_bytes": self.image_bytes,
        }


class CorrectionStore:
    """The corrections in the SQLite file at ``path`` (created with its folder on first use).

    A connection is opened per call: cheap for SQLite, and safe from any thread or process.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block the writer
            db.execute(_SCHEMA)
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ValueError(f"{self.path} was written by a newer digitreader (schema {version})")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection whose block is one transaction (committed on success, rolled back on error);
        a writing one takes the write lock at once, so two writers queue instead of failing."""
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)) as db:
            db.execute("PRAGMA synchronous=FULL")  # a committed row survives a crash of the machine too
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def add(self, correction: Correction) -> int:
        """Store ``correction`` (with its image); the new row's id."""
        if correction.image is None:
            raise ValueError("a correction needs its image")
        label = check_label(correction.label, correction.mode)
        created = correction.created or datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        row = (
            created,
            correction.mode,
            label,
            json.dumps(correction.answer, sort_keys=True),
            correction.model_sha256,
            correction.media_type,
            hashlib.sha256(correction.image).hexdigest(),
            sqlite3.Binary(correction.image),
        )
        with self._connect(write=True) as db:
            cursor = db.execute(
                "INSERT INTO corrections (created, mode, label, answer, model_sha256, media_type, image_sha256, image)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cursor.lastrowid or 0)

    def get(self, correction_id: int, image: bool = True) -> Correction | None:
        with self._connect() as db:
            row = db.execute(
                f"SELECT {_FIELDS}, {'image' if image else 'NULL'} FROM corrections WHERE id = ?", (correction_id,)
            ).fetchone()
        return _correction(row) if row else None

    def list(self, limit: int | None = None, offset: int = 0, images: bool = False) -> list[Correction]:
        """Corrections, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {_FIELDS}, {'image' if images else 'NULL'} FROM corrections ORDER BY id LIMIT ? OFFSET ?",
                (-1 if limit is None else limit, offset),
            ).fetchall()
        return [_correction(r) for r in rows]

    def __iter__(self) -> Iterator[Correction]:
        """Every correction with its image, oldest first, a page at a time (bounded memory)."""
        last = 0
        while True:
            with self._connect() as db:
                rows = db.execute(
                    f"SELECT {_FIELDS}, image FROM corrections WHERE id > ? ORDER BY id LIMIT 256", (last,)
                ).fetchall()
            if not rows:
                return
            for row in rows:
                yield _correction(row)
            last = rows[-1][0]

    def delete(self, correction_id: int) -> bool:
        """Remove one correction; False when there was none of that id."""
        with self._connect(write=True) as db:
            return db.execute("DELETE FROM corrections WHERE id = ?", (correction_id,)).rowcount > 0

    def __bool__(self) -> bool:
        return True  # a store is there even when empty (``if store:`` must not count its rows)

    def __len__(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT count(*) FROM corrections").fetchone()[0])

    def stats(self) -> dict[str, Any]:
        """Counts by mode and by label (single digits), models seen, the time span."""
        with self._connect() as db:
            by_mode = dict(db.execute("SELECT mode, count(*) FROM corrections GROUP BY mode").fetchall())
            by_digit = dict(
                db.execute("SELECT label, count(*) FROM corrections WHERE mode = 'predict' GROUP BY label").fetchall()
            )
            models = dict(db.execute("SELECT model_sha256, count(*) FROM corrections GROUP BY model_sha256").fetchall())
            first, last, size = db.execute(
                "SELECT min(created), max(created), sum(length(image)) FROM corrections"
            ).fetchone()
        return {
            "corrections": sum(by_mode.values()),
            "by_mode": by_mode,
            "by_digit": {k: by_digit[k] for k in sorted(by_digit)},
            "models": models,
            "first": first,
            "last": last,
            "image_bytes": int(size or 0),
        }

    def digest(self) -> str:
        """sha256 over every row's id, mode, label and image hash: names the set a model was tuned on."""
        h = hashlib.sha256()
        with self._connect() as db:
            for row in db.execute("SELECT id, mode, label, image_sha256 FROM corrections ORDER BY id"):
                h.update(json.dumps(row).encode())
        return h.hexdigest()


def _correction(row: tuple[Any, ...]) -> Correction:
    cid, created, mode, label, answer, sha, media_type, image_sha, size, image = row
    return Correction(
        id=cid,
        created=created,
        mode=mode,
        label=label,
        answer=json.loads(answer),
        model_sha256=sha,
        media_type=media_type,
        image_sha256=image_sha,
        image_bytes=int(size),
        image=bytes(image) if image is not None else None,
    )
