"""``digitreader read --engine ray`` on a real local Ray cluster: the same rows as the local engine,
nothing lost when a worker is killed, a half-done run resumed; and no Ray without ``--engine ray``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from drawing import draw

IMAGES = 300


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "digitreader.cli", "read", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _draw_folder(folder: Path, n: int) -> Path:
    """``n`` numbers of 1-3 drawn digits as PNG files, one that is no PNG and one empty file."""
    import cv2

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        digits = rng.integers(0, 10, 1 + i % 3)
        cv2.imwrite(str(folder / f"img-{i:04d}.png"), np.hstack([draw(int(d), size=64)[..., :3] for d in digits]))
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a PNG")
    (folder / "empty.png").write_bytes(b"")
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _draw_folder(tmp_path_factory.mktemp("scale") / "images", IMAGES)


@pytest.fixture(scope="module")
def local(folder: Path) -> dict[str, dict]:
    """``digitreader read FOLDER --json``: the local engine's line for each file."""
    run = _cli(str(folder), "--json")
    assert run.returncode == 1, run.stderr  # two files cannot be read
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(lines) == IMAGES + 2
    return {line["file"]: line for line in lines}


def _rows(path: Path, mode: str = "read") -> list[dict]:
    from digitreader.scale.output import as_json, read_rows

    return [as_json(row, mode) for row in read_rows(path, mode).to_pylist()]


@pytest.mark.slow
def test_ray_engine_started_by_the_command_gives_the_local_engines_rows(
    folder: Path, local: dict[str, dict], tmp_path: Path
) -> None:
    pytest.importorskip("ray", reason="the Ray engine needs the [scale] extra: pip install 'digitreader[scale]'")
    out = tmp_path / "r.parquet"
    run = _cli(str(folder), "--engine", "ray", "--out", str(out))  # no --address: a Ray of its own
    assert run.returncode == 1, run.stderr  # the two bad files, as with the local engine
    assert "broken.png is not a readable image" in run.stderr
    rows = _rows(out)
    assert rows == list(local.values())  # same rows, same order, byte for byte once as JSON
    assert not out.with_name("r.parquet.parts").exists()


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_no_row(
    ray_cluster: str, folder: Path, local: dict[str, dict], tmp_path: Path
) -> None:
    out = tmp_path / "r.jsonl"
    cmd = [sys.executable, "-m", "digitreader.cli", "read", str(folder), "--engine", "ray", "--address", ray_cluster]
    proc = subprocess.Popen(
        [*cmd, "--out", str(out), "--batch-size", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        actors = _wait_for_actors(proc, 2)
        time.sleep(2)  # the actors have loaded the model and are reading
        assert proc.poll() is None, "the run ended before a worker could be killed"
        os.kill(actors[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=240)
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr
    assert not _alive(actors[0])
    assert [json.dumps(r) for r in _rows(out)] == [json.dumps(r) for r in local.values()]
    assert out.read_text().splitlines()[0] == json.dumps(next(iter(local.values())))  # the local engine's lines


def _wait_for_actors(proc: subprocess.Popen[str], count: int, timeout: float = 120) -> list[int]:
    """The pids of the run's reader actors (Ray names the worker process after the actor)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        pids = [pid for pid, cmdline in _processes() if "MapBatches(ReadBatch)" in cmdline and _mine(pid)]
        if len(pids) >= count:
            return pids
        time.sleep(0.2)
    raise AssertionError("no reader actor started")


def _processes() -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append((int(entry.name), (entry / "cmdline").read_bytes().decode(errors="replace")))
            except OSError:
                continue
    return found


def _mine(pid: int) -> bool:
    """A descendant of this test process (its Ray cluster's workers are), not another user's Ray."""
    me = os.getpid()
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid == me:
            return True
    return False


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_resume_reads_only_the_files_not_done(
    ray_cluster: str, folder: Path, local: dict[str, dict], tmp_path: Path
) -> None:
    import shutil

    images = Path(shutil.copytree(folder, tmp_path / "images"))
    files = sorted(images.glob("img-*.png"))
    half = tmp_path / "half.txt"  # a list file: the first half of the images
    half.write_text("".join(f"{f}\n" for f in files[: len(files) // 2]))
    out = tmp_path / "r.parquet"
    first = _cli(str(half), "--engine", "ray", "--address", ray_cluster, "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert len(_rows(out)) == len(files) // 2
    for f in files[: len(files) // 2]:  # read again, a done file would now be an error row
        f.write_bytes(b"not an image any more")
    rest = _cli(str(images), "--engine", "ray", "--address", ray_cluster, "--out", str(out), "--resume")
    assert rest.returncode == 1, rest.stderr  # broken.png and empty.png
    assert f"{IMAGES + 2} files: {IMAGES // 2} done earlier, {IMAGES // 2 + 2} to read" in rest.stderr
    expected = [{**line, "file": line["file"].replace(str(folder), str(images))} for line in local.values()]
    expected = [{**e, "error": e["error"].replace(str(folder), str(images))} if "error" in e else e for e in expected]
    assert _rows(out) == expected


def test_a_killed_driver_leaves_parts_that_resume_merges(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="the Ray engine needs the [scale] extra: pip install 'digitreader[scale]'")
    from digitreader.scale.output import Results, table

    out = tmp_path / "r.parquet"
    results = Results(out, "read", resume=False, flush_rows=2)
    results.add(table([{"file": "a.png", "text": "1", "confidence": 0.9, "digits": []}], "read"))
    results.add(table([{"file": "b.png", "error": "b.png: no such file"}], "read"))  # 2 rows: on disk now
    results.add(table([{"file": "c.png", "text": "3", "confidence": 0.8, "digits": []}], "read"))  # not yet
    (results.parts / ".part-000002.parquet.x.tmp").write_bytes(b"half a file")  # killed while writing
    # ... the driver is killed here: no finish(), no OUT.
    again = Results(out, "read", resume=True)
    assert again.done() == {"a.png", "b.png"}
    assert not list(again.parts.glob(".*.tmp"))
    again.add(table([{"file": "c.png", "text": "3", "confidence": 0.8, "digits": []}], "read"))
    rows = again.finish(["c.png", "b.png", "a.png"])
    assert rows.column("file").to_pylist() == ["c.png", "b.png", "a.png"]
    assert _rows(out)[1] == {"file": "b.png", "error": "b.png: no such file"}
    assert not again.parts.exists()


def test_sources_expand_folders_globs_list_files_and_uris(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="the Ray engine needs the [scale] extra: pip install 'digitreader[scale]'")
    from digitreader.scale.sources import expand, fetch

    for name in ("a/img2.png", "a/img10.png", "a/notes.md", "b/x.jpg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    listed = tmp_path / "list.txt"
    listed.write_text(f"# scans\n{tmp_path / 'b/x.jpg'}\n\n{tmp_path / 'missing.png'}\n")
    a = [str(tmp_path / "a/img2.png"), str(tmp_path / "a/img10.png")]
    assert expand([str(tmp_path / "a")]) == a
    assert expand([str(tmp_path / "*/img*.png")]) == a
    assert expand([str(listed), str(tmp_path / "a")]) == [str(tmp_path / "b/x.jpg"), str(tmp_path / "missing.png"), *a]
    assert expand([f"file://{tmp_path}/a/"]) == [f"file://{tmp_path}/a/img2.png", f"file://{tmp_path}/a/img10.png"]
    assert fetch(f"file://{tmp_path}/b/x.jpg") == b"x"
    with pytest.raises(ValueError, match="no such file"):
        fetch(f"file://{tmp_path}/nothing.png")


def test_read_without_the_ray_engine_imports_no_ray(tmp_path: Path) -> None:
    image = tmp_path / "7.png"
    import cv2

    cv2.imwrite(str(image), draw(7, size=64)[..., :3])
    code = (
        "import sys\n"
        "from digitreader.cli import main\n"
        f"assert main(['read', {str(image)!r}, '--json']) == 0\n"
        "try:\n    main(['read', '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'pyarrow', 'torch', 'digitreader.scale')"
        " or m.startswith('digitreader.scale')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "[]"


def test_ray_options_need_the_ray_engine(tmp_path: Path) -> None:
    run = _cli(str(tmp_path), "--out", str(tmp_path / "r.parquet"))
    assert run.returncode == 2 and "--out only go with --engine ray" in run.stderr
    run = _cli(str(tmp_path), "--engine", "ray")
    assert run.returncode == 2 and "--out" in run.stderr
