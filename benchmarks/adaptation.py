"""Learning from corrections (issue 22): how much a writer's own K corrections help on the rest of their digits.

    DIGITREADER_DATA=../shared/data/mnist python benchmarks/adaptation.py [--writers N] [--ks 10,30,60]

For each writer of ``../shared/data/real-dev/cvl-digits/valid`` (the writer is the second field
of the file name; a writer's digits are taken in the order of the last two fields, the order
of the form), every one of the first K digits is posted with its true label (a right answer
corrected is still a labelled sample) to ``POST /api/v1/corrections`` of a ``digitreader serve
--corrections DB`` started on a fresh database; where this checkout's server has no such
endpoint, the same rows are written through ``CorrectionStore`` (the table says which). Then
``training.finetune.finetune`` (what ``train --init bundled --corrections DB`` runs, ``--force``
so that every run is measured; the table counts those the 0.05-point check would refuse)
tunes a throw-away copy in a temporary folder, and ``Recognizer.predict`` reads the writer's
remaining digits before and after. A writer with fewer than K + 10 digits is left out of K.

The real-dev digits are trained on here only, only in throw-away copies that are deleted.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

CVL_VALID = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real-dev" / "cvl-digits" / "valid"
SRC = Path(__file__).resolve().parents[1] / "src"
MIN_REST = 10  # a writer needs this many digits beyond the K corrected


def writers(folder: Path) -> dict[str, list[Path]]:
    """writer -> their digit files in the form's order (fields 3 and 4 of ``<label>-<writer>-<field>-<n>.png``)."""
    found: dict[str, list[Path]] = defaultdict(list)
    for f in folder.glob("*.png"):
        found[f.stem.split("-")[1]].append(f)
    return {w: sorted(fs, key=lambda f: [int(p) for p in f.stem.split("-")[2:]]) for w, fs in sorted(found.items())}


def label_of(f: Path) -> int:
    return int(f.name.split("-")[0])


class Poster:
    """Posts corrections to a served API on a fresh database, or writes them to the store when it has no endpoint."""

    def __init__(self, db: Path, src: Path = SRC, token: str = "bench") -> None:
        self.db, self.proc, self.url, self.path = db, None, "", "store"
        port = _free_port()
        cmd = [sys.executable, "-m", "digitreader", "serve", "--port", str(port), "--threads", "1"]
        cmd += ["--corrections", str(db), "--admin-token", token]
        env = {**os.environ, "PYTHONPATH": str(src)}
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}"
        if self._wait_ready():
            self.path = "api"

    def _wait_ready(self, timeout: float = 60) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:  # this checkout's serve has no --corrections
                return False
            try:
                urllib.request.urlopen(self.url + "/api/v1/health", timeout=2).read()
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
                continue
            return self._has_endpoint()
        return False

    def _has_endpoint(self) -> bool:
        spec = json.loads(urllib.request.urlopen(self.url + "/openapi.json", timeout=5).read())
        return "/api/v1/corrections" in spec.get("paths", {})

    def post(self, image: bytes, label: int) -> int:
        if self.path == "store":
            return _store_add(self.db, image, label)
        body = {"image": base64.b64encode(image).decode(), "label": str(label), "mode": "predict"}
        req = urllib.request.Request(
            self.url + "/api/v1/corrections",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            if resp.status != 201:
                raise RuntimeError(f"POST /api/v1/corrections answered {resp.status}")
            return int(json.loads(resp.read())["id"])

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def _store_add(db: Path, image: bytes, label: int) -> int:
    from digitreader.corrections.store import Correction, CorrectionStore

    row = Correction(mode="predict", label=str(label), answer={}, model_sha256="", media_type="image/png", image=image)
    return CorrectionStore(db).add(row)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def errors(recognizer, inputs: list[np.ndarray | None], labels: list[int]) -> int:  # type: ignore[no-untyped-def]
    """Digits not read right by ``Recognizer.predict`` (its ``predict_array`` on the cached ``preprocess``)."""
    from digitreader.errors import NoDigitError

    wrong = 0
    for x, label in zip(inputs, labels, strict=True):
        try:
            wrong += int(x is None or recognizer.predict_array(x).digit != label)
        except NoDigitError:  # rejected: not read
            wrong += 1
    return wrong


def prepare(files: list[Path]) -> list[np.ndarray | None]:
    from digitreader.errors import NoDigitError
    from digitreader.vision.preprocess import preprocess

    out: list[np.ndarray | None] = []
    for f in files:
        try:
            out.append(preprocess(f.read_bytes()))
        except NoDigitError:
            out.append(None)
    return out


def run_one(files: list[Path], k: int, cfg, tmp: Path, src: Path = SRC) -> dict:  # type: ignore[no-untyped-def]
    """Correct the first ``k`` of ``files`` into a fresh database, fine-tune; the tuned model's path and figures."""
    from digitreader.training.finetune import finetune

    db = tmp / "corrections.sqlite3"
    poster = Poster(db, src)
    try:
        for f in files[:k]:
            poster.post(f.read_bytes(), label_of(f))
    finally:
        poster.close()
    t0 = time.perf_counter()
    result = finetune(replace(cfg, out_dir=str(tmp / "run")), db, command="benchmarks/adaptation.py")
    mnist = result.card["before_after"]["mnist_test"]
    return {
        "path": poster.path,
        "onnx": result.onnx_path,
        "seconds": time.perf_counter() - t0,
        "mnist_before": mnist["before"],
        "mnist_after": mnist["after"],
    }


def main() -> None:
    from digitreader import Recognizer
    from digitreader.training.finetune import FinetuneConfig

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get("DIGITREADER_DATA"))
    p.add_argument("--cvl", type=Path, default=CVL_VALID, help="the folder of writers' digits")
    p.add_argument("--writers", type=int, help="the first N writers (default: all)")
    p.add_argument("--skip-writers", type=int, default=0, help="start after the first N writers")
    p.add_argument("--ks", default="10,30,60", help="numbers of corrections per writer, comma-separated")
    defaults = FinetuneConfig()
    for name in ("steps", "batch_size", "share", "lr", "holdout", "seed"):
        flag = "--" + name.replace("_", "-")
        p.add_argument(flag, type=type(getattr(defaults, name)), default=getattr(defaults, name))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--serve-src", type=Path, default=SRC, help="the src folder whose `digitreader serve` takes them")
    p.add_argument("--json-out", type=Path, help="write every (writer, K) row here")
    p.add_argument("--table", type=Path, nargs="+", help="print the table of earlier --json-out files instead")
    args = p.parse_args()
    if args.table:
        rows = [row for path in args.table for row in json.loads(path.read_text())]
        cfg = FinetuneConfig(**json.loads(args.table[0].with_suffix(".config.json").read_text()))
        table(rows, sorted({x["k"] for x in rows}), cfg, 0.0)
        return
    if not args.cvl.is_dir():
        print(f"skipped: no {args.cvl} (the real-dev set lives in ../shared/data/real-dev)")
        return
    cfg = FinetuneConfig(
        out_dir="",
        steps=args.steps,
        batch_size=args.batch_size,
        share=args.share,
        lr=args.lr,
        holdout=args.holdout,
        seed=args.seed,
        data_dir=args.data_dir,
        threads=args.threads,
        force=True,
    )
    ks = [int(k) for k in args.ks.split(",")]
    chosen = dict(list(writers(args.cvl).items())[args.skip_writers :][: args.writers])
    base = Recognizer()
    rows = []
    t_start = time.perf_counter()
    for n, (writer, files) in enumerate(chosen.items()):
        inputs, labels = prepare(files), [label_of(f) for f in files]
        for k in ks:
            if len(files) < k + MIN_REST:
                continue
            before = errors(base, inputs[k:], labels[k:])
            with tempfile.TemporaryDirectory(prefix="adapt-") as tmp:
                got = run_one(files, k, cfg, Path(tmp), args.serve_src)
                after = errors(Recognizer(got.pop("onnx")), inputs[k:], labels[k:])
            rows.append({"writer": writer, "k": k, "rest": len(files) - k, "before": before, "after": after, **got})
            print(
                f"[{n + 1}/{len(chosen)}] writer {writer} K={k}: errors {before} -> {after} of {len(files) - k}, "
                f"MNIST {100 * got['mnist_before']:.2f}% -> {100 * got['mnist_after']:.2f}% "
                f"({got['seconds']:.0f} s, {got['path']})",
                flush=True,
            )
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=1))
        settings = {k: v for k, v in cfg.to_dict().items() if k != "augment"}
        args.json_out.with_suffix(".config.json").write_text(json.dumps(settings))
    table(rows, ks, cfg, time.perf_counter() - t_start)


def table(rows: list[dict], ks: list[int], cfg, seconds: float) -> None:  # type: ignore[no-untyped-def]
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d %H:%M')}")
    print(
        f"# steps {cfg.steps}, batch {cfg.batch_size} ({cfg.share:.0%} corrections), lr {cfg.lr}, "
        f"held out {cfg.holdout:.0%}; {seconds / 60:.1f} min in all"
    )
    print(
        "| K | writers | corrections via | errors before | errors after | cut (pooled) | cut (mean of writers) "
        "| MNIST test before | after (mean, min) | over 0.05 pt | s per fine-tune |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k in ks:
        r = [x for x in rows if x["k"] == k]
        if not r:
            continue
        b, a, n = (sum(x[f] for x in r) for f in ("before", "after", "rest"))
        rate_b = np.mean([x["before"] / x["rest"] for x in r])
        rate_a = np.mean([x["after"] / x["rest"] for x in r])
        mn = np.array([x["mnist_after"] for x in r])
        over = sum(x["mnist_before"] - x["mnist_after"] > cfg.max_drop + 1e-9 for x in r)
        print(
            f"| {k} | {len(r)} | {', '.join(sorted({x['path'] for x in r}))} | {b}/{n} ({100 * b / n:.2f}%) "
            f"| {a}/{n} ({100 * a / n:.2f}%) | {100 * (1 - a / max(b, 1)):.0f}% | {100 * (1 - rate_a / rate_b):.0f}% "
            f"| {100 * r[0]['mnist_before']:.2f}% | {100 * mn.mean():.2f}%, {100 * mn.min():.2f}% | {over} "
            f"| {np.mean([x['seconds'] for x in r]):.0f} |"
        )


if __name__ == "__main__":
    main()
