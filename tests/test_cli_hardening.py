"""Issue 23 through the CLI: thin images read without an OpenCV error; in folder walks, what is not a
readable regular file (a FIFO, a dangling link, a link loop) gets an error line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from digitreader.cli import main


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and symbolic links")
def test_fifos_dangling_links_and_link_loops_get_an_error_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cv2.imwrite(str(tmp_path / "a.png"), np.full((40, 40), 255, np.uint8))
    os.mkfifo(tmp_path / "b.png")
    (tmp_path / "c.png").symlink_to(tmp_path / "gone.png")
    (tmp_path / "d.png").symlink_to(tmp_path / "e.png")
    (tmp_path / "e.png").symlink_to(tmp_path / "d.png")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)  # a folder loop is not followed
    assert main(["read", str(tmp_path), "--json"]) == 1
    rows = {Path(r["file"]).name: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert sorted(rows) == ["a.png", "b.png", "c.png", "d.png", "e.png"]
    assert "error" not in rows["a.png"]
    assert "FIFO" in rows["b.png"]["error"]
    assert "symbolic link to nothing" in rows["c.png"]["error"]
    assert "loop" in rows["d.png"]["error"] and "loop" in rows["e.png"]["error"]


@pytest.mark.parametrize("command", ["read", "predict"])
def test_thin_images_read_without_error(tmp_path: Path, capsys, command: str) -> None:  # type: ignore[no-untyped-def]
    files = []
    for w, h in ((1025, 1), (1, 1025), (2100, 2)):
        files.append(tmp_path / f"{w}x{h}.png")
        cv2.imwrite(str(files[-1]), np.full((h, w), 255, np.uint8))
    main([command, *map(str, files), "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert "unexpected" not in row.get("error", "") and "OpenCV" not in row.get("error", ""), row
