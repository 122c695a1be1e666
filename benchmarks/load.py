"""Load test of the REST API on loopback, beside the in-process inference time (so the HTTP overhead shows).

Starts ``digitreader serve`` in its own process, then for each level of concurrency opens that
many keep-alive connections (a small asyncio HTTP/1.1 client; each client sends its next
request when the last answer arrives) and runs them for a fixed time. Prints throughput,
p50/p99 latency and errors per level, for two single-digit payloads:

  png     a 280x280 PNG of an MNIST test digit drawn on white, as the web page sends it
          (decode + MNIST-style preprocessing + model);
  pixels  JSON {"pixels": [784 numbers]}, a ready 28x28 input (model only).

  python benchmarks/load.py                       # 1, 16, 64, 200 clients, 5 s each
  python benchmarks/load.py --clients 1 200 --seconds 3 --json results.json
  python benchmarks/load.py --clients 200 --payloads pixels --reload 5 --serve-args "" "--workers 2"
      # while the clients run, swap the model 5 times (POST /api/v1/model/reload, alternating a
      # renamed copy of the model and the one it started with): no request may fail (issue 22)
  python benchmarks/load.py --clients 200 --bombs 50 --baseline-src /tmp/old/src
      # also 50 worst-case uploads at once (a 1.5 KB WebP of 6000x6600 pixels each), with the
      # server's peak resident memory; and the same against an older checkout, side by side

The server's peak RSS is its VmHWM (Linux), read after each bomb round: the high-water mark
since it started, model loading included.

The load generator shares the machine with the server: on 2 cores it takes a good part of
one, so the throughput is a floor for what a separate client would see.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Level:
    server: str  # the options given to digitreader serve
    payload: str
    clients: int
    requests: int
    errors: int
    seconds: float
    throughput: float  # requests per second
    p50_ms: float
    p99_ms: float
    max_ms: float
    reloads: int = 0  # model swaps during the level (--reload), all answered 200


# ---------------------------------------------------------------- payloads


def sample_digit() -> np.ndarray:
    """An MNIST test digit (uint8 28x28) if MNIST is at hand, else a drawn 7."""
    try:
        from digitreader.data import load_mnist

        data_dir = os.environ.get("DIGITREADER_DATA") or str(ROOT.parent / "shared" / "data" / "mnist")
        images, _ = load_mnist("test", data_dir, download=False)
        return images[0]
    except Exception:
        import cv2

        img = np.zeros((28, 28), np.uint8)
        cv2.polylines(img, [np.array([[7, 7], [21, 7], [12, 22]], np.int32)], False, 255, 2)
        return img


def canvas_png(digit: np.ndarray) -> bytes:
    """The digit as the web page sends a drawing: black on white, 280x280, the digit about 60% tall."""
    glyph = Image.fromarray(255 - digit).resize((168, 168), Image.BICUBIC)
    page = Image.new("L", (280, 280), 255)
    page.paste(glyph, (56, 56))
    buf = io.BytesIO()
    page.save(buf, "PNG")
    return buf.getvalue()


def payloads(digit: np.ndarray) -> dict[str, tuple[str, bytes]]:
    pixels = json.dumps({"pixels": (digit / 255).round(4).ravel().tolist()}).encode()
    return {"png": ("image/png", canvas_png(digit)), "pixels": ("application/json", pixels)}


# ---------------------------------------------------------------- in-process reference


def in_process_ms(digit: np.ndarray, repeats: int = 300) -> dict[str, float]:
    """p50 milliseconds of the same work without HTTP: model only, and decode + preprocess + model."""
    from digitreader import Recognizer

    r = Recognizer(threads=1)  # as the server runs it: one core per inference
    png = canvas_png(digit)
    x = digit.astype(np.float32) / 255

    def p50(fn) -> float:  # type: ignore[no-untyped-def]
        for _ in range(20):
            fn()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return 1000 * statistics.median(times)

    return {"pixels": p50(lambda: r.predict_array(x)), "png": p50(lambda: r.predict(png))}


# ---------------------------------------------------------------- the load generator


async def client(host: str, port: int, request: bytes, stop: float, latencies: list[float], errors: list[str]) -> None:
    """One keep-alive connection sending requests back to back until ``stop`` (monotonic time)."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        errors.append(f"connect: {exc}")
        return
    try:
        while time.monotonic() < stop:
            t = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - t)
            if status != 200 or not body.startswith(b'{"digit":'):
                errors.append(f"HTTP {status}: {body[:100]!r}")
    except (OSError, asyncio.IncompleteReadError, ValueError, StopIteration) as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        writer.close()


async def reloader(host: str, port: int, n: int, seconds: float, token: str, other: str, errors: list[str]) -> int:
    """Swap the model ``n`` times, evenly over ``seconds``: the renamed copy, the start model, and so on."""

    def reload(k: int) -> str:
        body = json.dumps({"model": other}).encode() if k % 2 == 0 else b""
        req = urllib.request.Request(
            f"http://{host}:{port}/api/v1/model/reload", body, {"Authorization": f"Bearer {token}"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.load(r)["name"]

    done = 0
    for k in range(n):
        await asyncio.sleep(seconds / (n + 1))
        try:
            await asyncio.to_thread(reload, k)
            done += 1
        except OSError as exc:
            errors.append(f"reload: {exc}")
    return done


async def run_level(
    host: str,
    port: int,
    payload: str,
    body: tuple[str, bytes],
    clients: int,
    seconds: float,
    server: str = "",
    reload: tuple[int, str, str] | None = None,
) -> tuple[Level, list[str]]:
    content_type, data = body
    request = (
        f"POST /api/v1/predict HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data
    latencies: list[float] = []
    errors: list[str] = []
    # Warm up the connections' path for a moment, then measure.
    await asyncio.gather(
        *(client(host, port, request, time.monotonic() + 0.3, [], errors) for _ in range(min(clients, 8)))
    )
    start = time.monotonic()
    stop = start + seconds
    swaps = reloader(host, port, *reload[:1], seconds, *reload[1:], errors) if reload else asyncio.sleep(0, 0)
    *_, reloads = await asyncio.gather(
        *(client(host, port, request, stop, latencies, errors) for _ in range(clients)), swaps
    )
    elapsed = time.monotonic() - start
    ms = sorted(1000 * v for v in latencies) or [float("nan")]
    return Level(
        server=server,
        payload=payload,
        clients=clients,
        requests=len(latencies),
        errors=len(errors),
        seconds=round(elapsed, 2),
        throughput=round(len(latencies) / elapsed, 1),
        p50_ms=round(ms[len(ms) // 2], 2),
        p99_ms=round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 2),
        max_ms=round(ms[-1], 2),
        reloads=reloads,
    ), errors


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, extra: list[str], src: str | None = None) -> subprocess.Popen[bytes]:
    """``digitreader serve`` in its own process; ``src``: import digitreader from this folder instead."""
    cmd = [sys.executable, "-m", "digitreader.cli", "serve", "--port", str(port), "--log-level", "warning", *extra]
    env = {**os.environ, "PYTHONPATH": src} if src else None
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1):
                return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited: {proc.stderr.read().decode() if proc.stderr else ''}") from None
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not start within 60 s")


# ---------------------------------------------------------------- worst-case uploads


def bomb() -> bytes:
    """The issue-23 upload: a 1.5 KB lossless WebP of 6000x6600 white (39.6 MP, inside the 40 MP limit)."""
    buf = io.BytesIO()
    Image.new("RGB", (6000, 6600), "white").save(buf, "WEBP", lossless=True)
    return buf.getvalue()


def peak_rss_mb(pid: int) -> float:
    """The process's resident-memory high-water mark (VmHWM) in MB; NaN where /proc has none."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def bomb_round(host: str, port: int, data: bytes, n: int) -> dict[str, Any]:
    """``n`` uploads of ``data`` at once, each on its own connection; statuses and the time taken."""
    request = (
        f"POST /api/v1/read HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: image/webp\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    ).encode() + data

    async def one() -> str:
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 600)
            writer.close()
            return head.split(b" ", 2)[1].decode()
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            return type(exc).__name__

    start = time.monotonic()
    statuses = await asyncio.gather(*(one() for _ in range(n)))
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    return {"uploads": n, "statuses": counts, "seconds": round(time.monotonic() - start, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64, 200], help="concurrency levels")
    p.add_argument("--seconds", type=float, default=5.0, help="measured time per level")
    p.add_argument("--payloads", nargs="+", default=["png", "pixels"], choices=["png", "pixels"])
    p.add_argument(
        "--serve-args",
        nargs="+",
        default=[""],
        metavar="ARGS",
        help="options for digitreader serve, e.g. '--workers 2'; several: compared side by side",
    )
    p.add_argument("--bombs", type=int, default=0, metavar="N", help="also N worst-case uploads at once (peak RSS)")
    p.add_argument("--baseline-src", metavar="DIR", help="also serve an older checkout's src/ (before vs after)")
    p.add_argument("--reload", type=int, default=0, metavar="N", help="swap the model N times during each level")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = p.parse_args()
    reload = None
    if args.reload:
        import secrets
        import shutil
        import tempfile

        from digitreader.engine import bundled_models_dir

        token = secrets.token_hex(16)
        os.environ["DIGITREADER_ADMIN_TOKEN"] = token  # the servers started below take it from there
        folder = Path(tempfile.mkdtemp(prefix="digitreader-load-"))
        shutil.copyfile(bundled_models_dir() / "default.onnx", folder / "swapped.onnx")
        card = json.loads((bundled_models_dir() / "default.json").read_text())
        (folder / "swapped.json").write_text(json.dumps({**card, "name": "swapped"}))
        reload = (args.reload, token, str(folder / "swapped.onnx"))

    digit = sample_digit()
    bodies = payloads(digit)
    reference = in_process_ms(digit)
    servers = {config: free_port() for config in args.serve_args}
    procs = [start_server(port, config.split()) for config, port in servers.items()]
    if args.baseline_src:
        servers["before: " + args.baseline_src] = free_port()
        procs.append(start_server(servers["before: " + args.baseline_src], [], args.baseline_src))
    pids = dict(zip(servers, (p.pid for p in procs), strict=True))
    levels: list[Level] = []
    bombs: dict[str, dict[str, Any]] = {}
    try:
        for name in args.payloads:
            for n in args.clients:
                for config, port in servers.items():  # side by side, interleaved level by level
                    level, errors = asyncio.run(
                        run_level(
                            "127.0.0.1", port, name, bodies[name], n, args.seconds, config or "(defaults)", reload
                        )
                    )
                    levels.append(level)
                    print(
                        f"{level.server:24s} {name:6s} {n:4d} clients: {level.throughput:8.1f} req/s  "
                        f"p50 {level.p50_ms:7.2f} ms  p99 {level.p99_ms:7.2f} ms  errors {level.errors}"
                        + (f"  model swaps {level.reloads}" if reload else ""),
                        flush=True,
                    )
                    for e in errors[:3]:
                        print(f"    error: {e}")
        if args.bombs:
            data = bomb()
            for config, port in servers.items():  # one server at a time: each has the machine to itself
                result = asyncio.run(bomb_round("127.0.0.1", port, data, args.bombs))
                result["peak_rss_mb"] = round(peak_rss_mb(pids[config]), 0)
                bombs[config or "(defaults)"] = result
                print(
                    f"{config or '(defaults)':24s} {args.bombs} worst-case uploads at once: peak RSS "
                    f"{result['peak_rss_mb']:.0f} MB, statuses {result['statuses']}, {result['seconds']} s",
                    flush=True,
                )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)

    print(f"\nin-process, one request at a time (p50): model only {reference['pixels']:.2f} ms; "
          f"PNG decode + preprocess + model {reference['png']:.2f} ms")  # fmt: skip
    many = len(servers) > 1
    print(
        "\n| "
        + ("server | " if many else "")
        + "payload | clients | requests/s | p50 ms | p99 ms | errors / requests |"
        + (" model swaps |" if reload else "")
    )
    print("|" + ("---|" if many else "") + "---|---:|---:|---:|---:|---:|" + ("---:|" if reload else ""))
    for lv in levels:
        cells = [lv.server] if many else []
        cells += [lv.payload, str(lv.clients), f"{lv.throughput:.0f}", f"{lv.p50_ms:.2f}", f"{lv.p99_ms:.2f}",
                  f"{lv.errors} / {lv.requests}"]  # fmt: skip
        cells += [str(lv.reloads)] if reload else []
        print("| " + " | ".join(cells) + " |")
    if args.json:
        info = {"python": platform.python_version(), "cpus": os.cpu_count()}
        doc = {
            "machine": info,
            "in_process_p50_ms": reference,
            "levels": [asdict(lv) for lv in levels],
            "bombs": bombs,
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(doc, indent=2))
    return 1 if any(lv.errors for lv in levels) else 0


if __name__ == "__main__":
    sys.exit(main())
