"""Issue 22: the corrections database under several writers and a crash, and a reload reaching every worker.

``serve --workers 2`` is hammered by concurrent POSTs (every 201's id is in the file); a process writing
in a loop is killed with SIGKILL (the file opens, passes ``PRAGMA integrity_check``, and holds every
row it reported committed, none broken).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from test_browser import free_port
from test_corrections_api import TOKEN, model_copy

WRITER = textwrap.dedent(
    """
    import os, sys
    from digitreader.corrections.store import Correction, CorrectionStore
    store = CorrectionStore(sys.argv[1])
    k = 0
    while True:
        k += 1
        image = os.urandom(20_000 + (k % 7) * 10_000)  # big enough that a write spans several pages
        cid = store.add(Correction("read", str(k), {"text": ""}, "sha", "application/octet-stream", image))
        print(cid, flush=True)  # after the commit: this row must survive
    """
)


def test_a_writer_killed_mid_write_loses_no_committed_row(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE, text=True)
    reported = []
    try:
        assert proc.stdout is not None
        while len(reported) < 150:
            line = proc.stdout.readline()
            assert line, "the writer stopped"
            reported.append(int(line))
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # mid-write: it is writing the next row all the time
        proc.wait(timeout=10)
    reported += [int(line) for line in proc.stdout.read().split()]  # those it printed before it died
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = con.execute("SELECT id, label, image, image_sha256 FROM corrections").fetchall()
    ids = {row[0] for row in stored}
    assert set(reported) <= ids and len(ids) - len(reported) <= 1  # at most the one not yet reported
    for _, _, image, sha in stored:
        assert hashlib.sha256(image).hexdigest() == sha  # no broken row


def start_server(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    port = free_port()
    cmd = [sys.executable, "-m", "digitreader", "serve", "--port", str(port), "--log-level", "warning", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(base + "/api/v1/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_two_workers_write_concurrently_and_both_follow_a_reload(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    model = model_copy(tmp_path / "models", "first")
    other = model_copy(tmp_path / "models", "second")
    args = ["--workers", "2", "--corrections", str(db), "--model", str(model), "--model-poll", "0.2"]
    proc, base = start_server(args, env={"DIGITREADER_ADMIN_TOKEN": TOKEN})
    pixels = [0.0] * 784
    pixels[14 * 28 + 14] = 1.0

    def post(k: int) -> tuple[int, int | None]:
        # a fresh connection each time, so that both workers take requests
        r = httpx.post(base + "/api/v1/corrections", json={"pixels": pixels, "label": str(k % 10), "mode": "predict"})
        return r.status_code, r.json().get("id")

    try:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(post, range(240)))
        assert [status for status, _ in answers] == [201] * 240, answers
        ids = [cid for _, cid in answers]
        with sqlite3.connect(db) as con:
            stored = dict(con.execute("SELECT id, label FROM corrections").fetchall())
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert len(set(ids)) == 240 and set(ids) == set(stored)
        assert all(stored[cid] == str(k % 10) for k, cid in enumerate(ids))

        auth = {"Authorization": f"Bearer {TOKEN}"}
        r = httpx.post(base + "/api/v1/model/reload", headers=auth, json={"model": str(other)}, timeout=60)
        assert r.status_code == 200 and r.json()["name"] == "second", r.text
        time.sleep(3)  # the other worker sees the marker within --model-poll and loads the model
        names = {httpx.get(base + "/api/v1/model").json()["name"] for _ in range(40)}  # fresh connections
        assert names == {"second"}
        listed = httpx.get(base + "/api/v1/corrections", headers=auth, params={"limit": 1}).json()
        assert listed["total"] == 240 and json.dumps(listed).count('"image"') == 0
    finally:
        stop(proc)
