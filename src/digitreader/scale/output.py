"""Rows of a Ray run: their Arrow schema, safe keeping as they arrive, resume, and the final file.

The rows are the local engine's JSON lines as columns: ``file, text, confidence, digits, error``
(``--mode read``) or ``file, digit, confidence, probabilities, reason, error`` (``--mode predict``);
a field a row does not have is null. While a run goes on, the driver writes what arrives into
``OUT.parts/`` every few seconds, one Parquet file at a time (written to a temporary name, fsynced,
renamed), so a driver killed at any instant leaves only complete part files. At the end the parts
and any earlier ``OUT`` are merged into ``OUT`` (input order, one row per file, written the same
way) and the parts are removed. ``--resume`` reads the files done from ``OUT`` and the parts.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

BOX = pa.list_(pa.int64())
DIGIT = pa.struct([("digit", pa.int64()), ("confidence", pa.float64()), ("box", BOX)])
SCHEMAS = {
    "read": pa.schema(
        [
            ("file", pa.string()),
            ("text", pa.string()),
            ("confidence", pa.float64()),
            ("digits", pa.list_(DIGIT)),
            ("error", pa.string()),
        ]
    ),
    "predict": pa.schema(
        [
            ("file", pa.string()),
            ("digit", pa.int64()),
            ("confidence", pa.float64()),
            ("probabilities", pa.list_(pa.float64())),
            ("reason", pa.string()),
            ("error", pa.string()),
        ]
    ),
}
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


def table(rows: list[dict[str, Any]], mode: str) -> pa.Table:
    """``{"file", **fields}`` dicts (as ``batch.results`` gives them) -> an Arrow table of ``mode``'s schema."""
    return pa.Table.from_pylist(rows, schema=SCHEMAS[mode])


def as_json(row: dict[str, Any], mode: str) -> dict[str, Any]:
    """A row of the table -> the local engine's JSON line for it (``digitreader read --json``)."""
    if row.get("error") is not None:
        return {"file": row["file"], "error": row["error"]}
    if mode == "read":
        return {k: row[k] for k in ("file", "text", "confidence", "digits")}
    line = {k: row[k] for k in ("file", "digit", "confidence", "probabilities")}
    return line if row.get("reason") is None else {**line, "reason": row["reason"]}


def read_rows(path: Path, mode: str) -> pa.Table:
    """An output file (Parquet or JSON lines) as a table of ``mode``'s schema."""
    if output_format(path) == "parquet":
        return pq.read_table(path, schema=SCHEMAS[mode])
    with path.open() as fh:
        return table([json.loads(line) for line in fh if line.strip()], mode)


def output_format(path: Path) -> str:
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(f"--out {path}: give a .parquet or a .jsonl file") from None


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` into a temporary file beside ``path``, fsync it, rename it over ``path``."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class Results:
    """The output of one run: rows kept in part files as they arrive, merged into ``out`` at the end."""

    def __init__(self, out: Path, mode: str, resume: bool, flush_rows: int = 2000, flush_seconds: float = 5.0) -> None:
        self.out, self.mode, self.format = out, mode, output_format(out)
        self.parts = out.with_name(out.name + ".parts")
        self.flush_rows, self.flush_seconds = flush_rows, flush_seconds
        self.pending: list[pa.Table] = []
        self.pending_rows, self.last_flush = 0, time.monotonic()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not resume:
            shutil.rmtree(self.parts, ignore_errors=True)  # a fresh run: an earlier OUT is no part of it
            out.unlink(missing_ok=True)
        self.parts.mkdir(exist_ok=True)
        for stale in self.parts.glob(".*.tmp"):  # a driver killed while writing a part
            stale.unlink(missing_ok=True)
        self.resume = resume
        self.count = len(list(self.parts.glob("part-*.parquet")))

    def done(self) -> set[str]:
        """The files that already have a row (in ``out`` from an earlier run, or in its parts)."""
        return set(self._earlier().column("file").to_pylist())

    def _earlier(self) -> pa.Table:
        tables = [read_rows(self.out, self.mode)] if self.resume and self.out.exists() else []
        tables += [pq.read_table(p, schema=SCHEMAS[self.mode]) for p in sorted(self.parts.glob("part-*.parquet"))]
        return pa.concat_tables(tables) if tables else SCHEMAS[self.mode].empty_table()

    def add(self, rows: pa.Table) -> None:
        """Keep ``rows``; they are on disk within ``flush_rows`` rows or ``flush_seconds`` seconds."""
        self.pending.append(rows.select(SCHEMAS[self.mode].names).cast(SCHEMAS[self.mode]))
        self.pending_rows += rows.num_rows
        if self.pending_rows >= self.flush_rows or time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self.pending_rows:
            part = pa.concat_tables(self.pending)
            self.count += 1
            _write_atomic(self.parts / f"part-{self.count:06d}.parquet", lambda tmp: pq.write_table(part, tmp))
        self.pending, self.pending_rows, self.last_flush = [], 0, time.monotonic()

    def finish(self, order: list[str]) -> pa.Table:
        """Merge everything into ``out``: one row per file (the latest), in the order of ``order``
        (files of an earlier run that ``order`` lacks come last). Returns the rows written."""
        self.flush()
        rows = self._earlier()
        files = rows.column("file").to_pylist()
        latest = {f: i for i, f in enumerate(files)}
        rank = {f: i for i, f in enumerate(order)}
        keep = sorted(latest.values(), key=lambda i: (rank.get(files[i], len(rank)), i))
        rows = rows.take(pa.array(keep, pa.int64()))
        if self.format == "parquet":
            _write_atomic(self.out, lambda tmp: pq.write_table(rows, tmp))
        else:
            _write_atomic(self.out, lambda tmp: tmp.write_text("".join(_json_lines(rows, self.mode))))
        shutil.rmtree(self.parts, ignore_errors=True)
        return rows


def _json_lines(rows: pa.Table, mode: str) -> list[str]:
    return [json.dumps(as_json(row, mode)) + "\n" for row in rows.to_pylist()]
