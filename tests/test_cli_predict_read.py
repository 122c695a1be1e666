"""`digitreader predict` and `digitreader read` through the real entry point: JSON lines, tables, folders,
errors that do not stop the run, progress, --debug-dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from drawing import draw
from terminal import cli, cli_in_terminal

from digitreader.cli import main


def save(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA))
    return path


def number(digits: str, size: int = 120) -> np.ndarray:
    """A number drawn on white, one canvas-style digit after another."""
    tiles = [draw(int(d), size=size, box=(0.1, 0.1, 0.8))[..., 0] for d in digits]
    return np.hstack(tiles)


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_predict_json_lines(tmp_path, capsys) -> None:
    files = [save(tmp_path / f"d{d}.png", draw(d)) for d in (3, 7)]
    assert main(["predict", *map(str, files), "--json"]) == 0
    out = lines(capsys.readouterr().out)
    assert [o["digit"] for o in out] == [3, 7]
    for o, f in zip(out, files, strict=True):
        assert set(o) == {"file", "digit", "confidence", "probabilities"} and o["file"] == str(f)
        assert len(o["probabilities"]) == 10 and abs(sum(o["probabilities"]) - 1) < 1e-6


def test_predict_table_on_a_terminal(tmp_path) -> None:
    f = save(tmp_path / "four.png", draw(4))
    run = cli_in_terminal("predict", str(f))
    assert run.code == 0, run.err
    row = next(line for line in run.out.splitlines() if "four.png" in line)
    assert "confidence" in run.out and "│" in row and row.split("│")[1].strip() == str(f)
    assert row.split("│")[2].strip() == "4"


def test_piped_output_is_one_tab_separated_line_per_file_and_errors_go_to_their_own_line(tmp_path) -> None:
    """Issue 20.10: piped, nothing is wrapped (a long file name stays whole) and an error is not a digit."""
    deep = save(tmp_path / "a_rather_long_folder_name" / "another_level_down" / "galtsbi_digits_3.png", draw(3))
    bad = tmp_path / "not_an_image.png"
    bad.write_text("text")
    run = cli("predict", str(deep), str(bad))
    assert run.code == 1
    assert run.out.splitlines()[0] == "file\tdigit\tconfidence\trunner-up"
    assert [line.split("\t")[:2] for line in run.out.splitlines()[1:]] == [[str(deep), "3"]]
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {bad} ") and "not an image" in errors[0]


def test_narrow_terminal_never_folds_a_path(tmp_path) -> None:
    deep = save(tmp_path / "a_rather_long_folder_name" / "another_level_down" / "galtsbi_digits_3.png", draw(3))
    run = cli_in_terminal("read", str(deep), columns=60)
    assert run.code == 0, run.err
    assert f"{deep}\t3\t" in run.out  # too narrow for a table: whole lines instead


@pytest.mark.parametrize("terminal", [False, True])
def test_paths_with_brackets_are_never_markup(tmp_path, terminal: bool) -> None:
    """Issue 23.4: `scans/[/x].png` ended in a MarkupError; `d2/[old]/x.png` printed as `d2//x.png`."""
    odd = save(tmp_path / "scans" / "[" / "x].png", number("25"))
    old = save(tmp_path / "d2" / "[old]" / "x.png", number("7"))
    bad = tmp_path / "[bold]bad[red].png"
    bad.write_text("not an image")
    run = (cli_in_terminal if terminal else cli)("read", str(odd), str(old), str(bad))
    assert run.code == 1 and "Traceback" not in run.err
    assert str(odd) in run.out and str(old) in run.out
    assert f"error: {bad} is not an image" in " ".join(run.err.split())
    unknown = cli("read", str(odd), "--model", "[red]x[/]")
    assert unknown.code == 2 and "unknown model '[red]x[/]'" in unknown.err


def test_bad_file_gets_an_error_line_and_the_rest_go_on(tmp_path, capsys) -> None:
    good = save(tmp_path / "a.png", draw(2))
    bad = tmp_path / "b.png"
    bad.write_text("not an image")
    truncated = tmp_path / "c.jpg"
    _, buf = cv2.imencode(".jpg", number("12"))
    truncated.write_bytes(buf.tobytes()[: len(buf) // 2])
    blank = save(tmp_path / "d.png", np.full((100, 100), 255, np.uint8))
    missing = tmp_path / "missing.png"
    code = main(["predict", str(good), str(bad), str(truncated), str(blank), str(missing), "--json"])
    out = lines(capsys.readouterr().out)
    assert code == 1
    assert out[0]["digit"] == 2
    assert [set(o) for o in out[1:3] + out[4:]] == [{"file", "error"}] * 3
    assert "not an image" in out[1]["error"] and "truncated" in out[2]["error"] and "no such file" in out[4]["error"]
    # A blank image is no error: it holds no digit, and says why (DESIGN: digit null plus a reason).
    assert out[3]["digit"] is None and out[3]["confidence"] is None and "no digit" in out[3]["reason"]


def test_read_json_lines_and_blank_image(tmp_path, capsys) -> None:
    f = save(tmp_path / "n.png", number("409"))
    blank = save(tmp_path / "blank.png", np.full((80, 200), 255, np.uint8))
    assert main(["read", str(f), str(blank), "--json"]) == 0
    first, second = lines(capsys.readouterr().out)
    assert first["text"] == "409" and set(first) == {"file", "text", "confidence", "digits"}
    assert [d["digit"] for d in first["digits"]] == [4, 0, 9]
    assert all(set(d) == {"digit", "confidence", "box"} and len(d["box"]) == 4 for d in first["digits"])
    assert second == {"file": str(blank), "text": "", "confidence": 0.0, "digits": []}


def test_read_walks_folders_recursively_unless_told_not_to(tmp_path, capsys) -> None:
    save(tmp_path / "top.png", number("12"))
    save(tmp_path / "sub" / "deep.png", number("34"))
    (tmp_path / "notes.txt").write_text("skipped: not an image file name")
    assert main(["read", str(tmp_path), "--json"]) == 0
    texts = {Path(o["file"]).name: o["text"] for o in lines(capsys.readouterr().out)}
    assert texts == {"top.png": "12", "deep.png": "34"}
    assert main(["read", str(tmp_path), "--json", "--no-recursive"]) == 0
    assert [Path(o["file"]).name for o in lines(capsys.readouterr().out)] == ["top.png"]


def test_debug_dir_shows_what_the_model_saw(tmp_path, capsys) -> None:
    f = save(tmp_path / "n.png", number("56"))
    debug = tmp_path / "debug"
    assert main(["read", str(f), "--debug-dir", str(debug)]) == 0
    boxes, inputs = sorted(debug.glob("*.boxes.png")), sorted(debug.glob("*.inputs.png"))
    assert len(boxes) == 1 and len(inputs) == 1
    sheet = cv2.imread(str(inputs[0]))
    assert sheet.shape[1] >= 2 * 28 * 4  # two 28x28 inputs, enlarged
    assert main(["predict", str(f), "--debug-dir", str(debug / "p")]) == 0
    assert len(list((debug / "p").glob("*.png"))) == 2


def test_unknown_model_is_a_clear_error(tmp_path, capsys) -> None:
    f = save(tmp_path / "a.png", draw(1))
    assert main(["predict", str(f), "--model", "no-such-model"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_read_with_and_without_the_line_reader(tmp_path, capsys) -> None:
    f = save(tmp_path / "n.png", number("4096"))
    assert main(["read", str(f), "--json", "--line-model", "none"]) == 0
    assert lines(capsys.readouterr().out)[0]["text"] == "4096"
    assert main(["read", str(f), "--json", "--line-model", str(tmp_path / "missing.onnx")]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the console wraps long lines
    assert "line reader" in err and "does not exist" in err


@pytest.mark.slow
def test_read_a_folder_of_1000_images_shows_progress(tmp_path) -> None:
    """The issue's check: progress on stderr, then one JSON line per image (through the installed command)."""
    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(0)
    tiles = {d: cv2.resize(draw(d)[..., 0], (48, 48), interpolation=cv2.INTER_AREA) for d in range(10)}
    truth = {}
    for i in range(1000):
        a, b = (int(v) for v in rng.integers(0, 10, 2))
        cv2.imwrite(str(folder / f"{i:04d}.png"), np.hstack([tiles[a], tiles[b]]))
        truth[f"{i:04d}.png"] = f"{a}{b}"
    run = subprocess.run(
        [sys.executable, "-m", "digitreader.cli", "read", str(folder), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    out = lines(run.stdout)
    assert len(out) == 1000 and len({o["file"] for o in out}) == 1000
    right = sum(o["text"] == truth[Path(o["file"]).name] for o in out)
    assert right >= 980
    assert "read: 100/1000 images (10%)" in run.stderr and "read: 1000/1000" in run.stderr
