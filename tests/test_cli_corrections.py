"""Issue 22, the CLI: ``digitreader corrections list|stats|export|import|delete`` on a real SQLite file, and
``predict``/``read`` scoring the model on the exported labels CSV."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from terminal import cli

from digitreader.corrections.store import Correction, CorrectionStore


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def paper(digit28: np.ndarray) -> np.ndarray:
    return np.pad(255 - np.asarray(Image.fromarray(digit28).resize((112, 112), Image.BICUBIC)), 16, constant_values=255)


@pytest.fixture
def db(tmp_path: Path, mnist_test) -> Path:  # type: ignore[no-untyped-def]
    """Four single digits (one labelled wrong on purpose: the model will disagree) and one number."""
    images, labels = mnist_test
    store = CorrectionStore(tmp_path / "c.sqlite3")
    for i in range(4):
        label = str(labels[i]) if i != 3 else str((labels[i] + 1) % 10)
        store.add(Correction("predict", label, {"digit": int(labels[i])}, "f" * 64, "image/png", png(paper(images[i]))))
    number = np.concatenate([paper(images[i]) for i in (4, 5, 6)], axis=1)
    text = "".join(str(labels[i]) for i in (4, 5, 6))
    store.add(Correction("read", text, {"text": text}, "f" * 64, "image/png", png(number)))
    return store.path


def test_list_stats_and_delete(db: Path) -> None:
    run = cli("corrections", "list", "--db", str(db), "--json")
    assert run.code == 0, run.err
    rows = [json.loads(line) for line in run.out.splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5] and "image" not in rows[0] and rows[4]["mode"] == "read"
    run = cli("corrections", "list", "--db", str(db))
    assert run.out.splitlines()[0].split("\t") == ["id", "created", "mode", "written", "model said", "model"]
    stats = json.loads(cli("corrections", "stats", "--db", str(db), "--json").out)
    assert stats["corrections"] == 5 and stats["by_mode"] == {"predict": 4, "read": 1}
    run = cli("corrections", "delete", "2", "99", "--db", str(db))
    assert run.code == 1 and "no correction 99" in run.err and "deleted 1" in run.err
    with sqlite3.connect(db) as con:
        assert [r[0] for r in con.execute("SELECT id FROM corrections")] == [1, 3, 4, 5]


def test_no_database_is_a_clear_error(tmp_path: Path) -> None:
    run = cli("corrections", "list", "--db", str(tmp_path / "none.sqlite3"))
    assert run.code == 2 and "no corrections database" in run.err and "Traceback" not in run.err


def test_export_import_round_trip_and_scoring(db: Path, tmp_path: Path, mnist_test) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "export"
    run = cli("corrections", "export", str(out), "--db", str(db))
    assert run.code == 0 and "exported 5" in run.err, run.err
    with open(out / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:3] == ["file", "label", "mode"] and len(rows) == 5
    assert all((out / r["file"]).is_file() for r in rows) and rows[0]["file"] == "images/000001.png"

    copy = tmp_path / "copy.sqlite3"
    run = cli("corrections", "import", str(out), "--db", str(copy))
    assert run.code == 0 and "imported 5" in run.err, run.err
    run = cli("corrections", "import", str(out / "labels.csv"), "--db", str(copy))
    assert "imported 0" in run.err and "5 already there" in run.err  # idempotent
    before, after = CorrectionStore(db), CorrectionStore(copy)
    assert before.digest() == after.digest()  # the same ids, labels and image bytes
    assert [c.to_dict() for c in before.list()] == [c.to_dict() for c in after.list()]

    run = cli("predict", str(out / "labels.csv"), "--json")
    assert run.code == 0, run.err
    lines = [json.loads(line) for line in run.out.splitlines()]
    assert [r["correct"] for r in lines] == [True, True, True, False]  # the 4th was labelled wrong
    assert "accuracy: 3/4 correct (75.0%)" in run.err and "1 row of numbers left out" in run.err
    run = cli("read", str(out / "labels.csv"))
    assert run.out.splitlines()[0].split("\t")[-2:] == ["expected", "correct"]
    assert [line.split("\t")[-1] for line in run.out.splitlines()[1:]] == ["yes", "yes", "yes", "no", "yes"]
    assert "accuracy: 4/5 correct (80.0%)" in run.err


def test_a_hand_written_labels_csv(tmp_path: Path, mnist_test) -> None:  # type: ignore[no-untyped-def]
    images, labels = mnist_test
    (tmp_path / "a.png").write_bytes(png(paper(images[7])))
    (tmp_path / "labels.csv").write_text(f"file,label\na.png,{labels[7]}\nmissing.png,3\n")
    run = cli("predict", str(tmp_path / "labels.csv"))
    assert run.code == 1 and "accuracy: 1/2 correct (50.0%)" in run.err  # an unreadable file counts as wrong
    (tmp_path / "bad.csv").write_text("name,digit\na.png,1\n")
    run = cli("predict", str(tmp_path / "bad.csv"))
    assert run.code == 2 and "no file or label column" in run.err
