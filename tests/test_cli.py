"""The ``digitreader`` command as a whole (issue 20's CLI points): ``python -m``, --help, clean errors
without torch or MNIST, serve's port and logs, watch's FFmpeg noise, ``data video``, start-up imports."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import cv2
import pytest
from drawing import draw
from terminal import cli

from digitreader.cli import COMMANDS, build_parser

NO_TORCH = """
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):  # as in an install without the [train] extra
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
sys.meta_path.insert(0, NoTorch())
from digitreader.cli import main
sys.exit(main(sys.argv[1:]))
"""


def no_mnist(tmp_path: Path) -> dict[str, str]:
    """An environment with no MNIST anywhere and no internet (a proxy nobody listens on)."""
    env = {k: v for k, v in os.environ.items() if k != "DIGITREADER_DATA"}
    dead = "http://127.0.0.1:9"  # the discard port: connections are refused at once
    return {**env, "XDG_CACHE_HOME": str(tmp_path / "cache"), "https_proxy": dead, "http_proxy": dead}


def run_env(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digitreader", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_python_dash_m_runs_the_command() -> None:
    run = cli("--version")
    assert run.code == 0 and run.out.strip() == "digitreader 0.1.0"
    run = cli("predict", "--help")
    assert run.code == 0 and run.out.startswith("usage: digitreader predict")


def all_help() -> dict[str, str]:
    """Every command's and data action's --help, whitespace collapsed (the formatter wraps lines)."""
    texts = {}
    for name in COMMANDS:
        parser = build_parser(only=name)
        sub = next(a for a in parser._actions if a.dest == "command").choices[name]
        texts[name] = sub.format_help()
        for action in sub._actions:
            if action.dest == "action":  # data info|download|evalset|video
                for verb, p in action.choices.items():
                    texts[f"{name} {verb}"] = p.format_help()
    return {k: " ".join(v.split()) for k, v in texts.items()}


def test_help_shows_each_default_once() -> None:
    texts = all_help()
    assert {"data download", "data evalset", "data video", "watch", "serve"} <= set(texts)
    for name, text in texts.items():
        assert "(default: None)" not in text and "(default: [])" not in text, name
        assert not re.search(r"\(default: [^)]*\) \(default:", text), name
        assert not re.search(r"\((\w+)\) \(default: \1\)", text), name
        assert not re.search(r"--no-show [^-]*\(default: True\)", text), name
    assert "--model MODEL bundled model name or path to an .onnx file (default: default) --max-frames" in texts["watch"]
    assert "--window N vote over each digit's last N readings (default: 8)" in texts["watch"]
    assert "(default: 1000)" in texts["data evalset"]  # the data actions use the same formatter
    assert "--recursive, --no-recursive walk folders into their subfolders (default: --recursive)" in texts["read"]


def test_main_help_lists_each_command_as_its_own_help_says() -> None:
    from digitreader import cli as cli_module

    for name in COMMANDS:  # the main --help lists them without importing the modules
        assert cli_module._HELP[name] == cli_module._module(name).HELP, name


def test_data_download_says_data_dir_and_still_takes_dir() -> None:
    text = all_help()["data download"]
    assert "--data-dir DIR" in text and "--dir" not in text.replace("--data-dir", "")
    parser = build_parser(only="data")
    assert parser.parse_args(["data", "download", "--data-dir", "x"]).data_dir == "x"
    assert parser.parse_args(["data", "download", "--dir", "y"]).data_dir == "y"  # the former name, hidden


@pytest.mark.parametrize(
    "args",
    [["train", "--tiny"], ["train-line", "--strips", "10"], ["export", "model.pt", "--out", "m.onnx"]],
)
def test_training_commands_without_torch_give_a_hint_that_can_be_pasted(args: list[str]) -> None:
    run = subprocess.run([sys.executable, "-c", NO_TORCH, *args], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "error: this command needs PyTorch: pip install 'digitreader[train]'" in run.stderr
    assert "Traceback" not in run.stderr


def test_bench_models_without_mnist_is_a_clean_error(tmp_path: Path) -> None:
    run = run_env(["bench-models", "--tiny", "--models", "knn", "--out", str(tmp_path / "b")], no_mnist(tmp_path))
    assert run.returncode == 2
    assert run.stderr.startswith("error: could not download") and "digitreader data download" in run.stderr
    assert "Traceback" not in run.stderr


def test_evaluate_without_mnist_asks_only_for_the_test_set(tmp_path: Path) -> None:
    run = run_env(["evaluate", "--limit", "10"], no_mnist(tmp_path))
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "could not download t10k-images-idx3-ubyte.gz" in run.stderr and "train-" not in run.stderr.split("(")[0]
    cache = str(tmp_path / "cache" / "digitreader" / "mnist")
    looked = re.search(r"looked in: ([^)]*)\)", run.stderr)
    assert looked and looked.group(1).split(", ") == [cache]  # each folder once


def test_data_info_says_how_to_get_mnist(tmp_path: Path) -> None:
    run = run_env(["data", "info", "--data-dir", str(tmp_path / "empty")], no_mnist(tmp_path))
    assert run.returncode == 1
    assert "not found" in run.stdout and "digitreader data download" in run.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_on_a_busy_port_says_who_holds_it_and_announces_nothing() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        run = cli("serve", "--port", str(port), timeout=60)
    assert run.code == 2
    assert "open http" not in run.out and "Traceback" not in run.err
    assert f"port {port} is already in use by process {os.getpid()} (" in run.err


def serve_and_get(args: list[str], requests: int) -> str:
    """Start ``digitreader serve ARGS``, GET /api/v1/health ``requests`` times, stop it; its output."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "digitreader", "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        done = 0
        while done < requests:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as r:
                    assert json.load(r)["status"] == "ok"
                done += 1
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    return output


def test_serve_logs_each_request_only_at_debug_level() -> None:
    quiet = serve_and_get([], requests=5)
    assert "GET /api/v1/health" not in quiet and "open http://localhost:" in quiet
    chatty = serve_and_get(["--log-level", "debug"], requests=5)
    assert chatty.count("GET /api/v1/health") == 5


def test_watch_a_file_that_is_no_video_prints_only_its_error(tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"not a png at all")
    run = cli("watch", "--video", str(fake), "--json")
    assert run.code == 2 and run.out == ""
    assert run.err.startswith(f"error: {fake}: no frame could be decoded")
    assert "@ 0x" not in run.err and len(run.err.splitlines()) == 1


def test_data_video_writes_a_test_video_and_its_truth(mnist_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    args = ["data", "video", str(out), "--frames", "20", "--size", "560x400", "--seed", "2", "--fps", "25"]
    run = cli(*args, "--data-dir", str(mnist_path))
    assert run.code == 0, run.err
    assert run.out.strip() == f"wrote {out} (20 frames, 560x400, 25 fps) and {tmp_path / 'clip.truth.jsonl'}"
    cap = cv2.VideoCapture(str(out))
    frames = []
    while (got := cap.read())[0]:
        frames.append(got[1])
    cap.release()
    assert len(frames) == 20 and frames[0].shape == (400, 560, 3)
    truth = [json.loads(line) for line in (tmp_path / "clip.truth.jsonl").read_text().splitlines()]
    assert len(truth) == 20 and truth[0]["text"] and len(truth[0]["boxes"]) == len(truth[0]["text"])
    again = tmp_path / "again.mp4"
    assert cli(*args[:2], str(again), *args[3:], "--data-dir", str(mnist_path)).code == 0
    assert (tmp_path / "again.truth.jsonl").read_text() == (tmp_path / "clip.truth.jsonl").read_text()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--size", "320x240"], "--size must be from 560x400"),
        (["--size", "big"], "--size must be WIDTHxHEIGHT"),
        (["--frames", "0"], "at least one frame"),
    ],
)
def test_data_video_rejects_bad_options(tmp_path: Path, option: list[str], message: str) -> None:
    run = cli("data", "video", str(tmp_path / "v.mp4"), *option)
    assert run.code == 2 and message in run.err and not (tmp_path / "v.mp4").exists()


def test_predict_loads_neither_torch_nor_the_server_nor_rich(tmp_path: Path) -> None:
    image = tmp_path / "seven.png"
    cv2.imwrite(str(image), draw(7))
    script = textwrap.dedent(
        """
        import contextlib, io, sys
        from digitreader.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:  # a pipe: plain lines
            assert main(["predict", sys.argv[1]]) == 0
        assert out.getvalue().splitlines()[1].split("\\t")[1] == "7", out.getvalue()
        print(" ".join(m for m in ("torch", "fastapi", "uvicorn", "starlette", "rich") if m in sys.modules))
        """
    )
    run = subprocess.run([sys.executable, "-c", script, str(image)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""


def test_other_tables_are_plain_lines_when_piped(mnist_path: Path, tmp_path: Path) -> None:
    """data info and evaluate print tab-separated lines into a pipe, whole paths included."""
    info = cli("data", "info", "--data-dir", str(mnist_path))
    assert info.code == 0
    rows = [line.split("\t") for line in info.out.splitlines()[1:]]
    assert rows[0] == ["split", "form", "images", "labels 0..9", "files"]
    assert rows[2][:3] == ["test", "idx", "10,000"] and str(mnist_path / "t10k-images-idx3-ubyte.gz") in rows[2][4]
    ev = cli("evaluate", "--limit", "200", "--data-dir", str(mnist_path), "--out", str(tmp_path / "ev"))
    assert ev.code == 0, ev.err
    lines = ev.out.splitlines()
    assert lines[0] == "digit\tprecision\trecall\tF1\tsupport" and len(lines) == 12
    assert lines[-1].startswith("accuracy ") and "[bold]" not in ev.out
