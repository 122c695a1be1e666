"""Serve the web app (draw, upload, webcam) at / and the REST API under /api/v1, with OpenAPI docs at /docs.
The model is loaded once at start-up; requests over the size limits get 413."""

from __future__ import annotations

import argparse
import importlib.util
import os

from digitreader.commands.common import err, fail, out

HELP = "serve the web app and REST API"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=8000, help="TCP port")
    p.add_argument("--model", default="default", help="bundled model name or path to an .onnx file")
    p.add_argument("--workers", type=int, default=1, help="server processes (each loads the model once)")
    p.add_argument("--threads", type=int, default=0, help="inference threads per process (0: one per CPU core)")
    p.add_argument("--max-body-mb", type=float, default=10.0, help="largest request body, in MB (413 above)")
    p.add_argument("--max-megapixels", type=float, default=40.0, help="largest image, in megapixels (413 above)")
    p.add_argument("--timeout-keep-alive", type=int, default=5, help="seconds an idle keep-alive connection stays")
    p.add_argument("--timeout-header", type=float, default=10.0, help="seconds to send a request's head (then closed)")
    p.add_argument("--timeout-body", type=float, default=30.0, help="seconds a request body may stall (408 after)")
    p.add_argument("--limit-concurrency", type=int, default=512, help="connections at most (503 above; 0: no limit)")
    p.add_argument(
        "--http",
        default="auto",
        choices=["auto", "h11", "httptools"],
        help="HTTP parser (auto: httptools if installed)",
    )
    p.add_argument(
        "--loop", default="auto", choices=["auto", "asyncio", "uvloop"], help="event loop (auto: uvloop if installed)"
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (debug also logs every request)",
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from digitreader.engine import resolve_model
    from digitreader.errors import ModelError
    from digitreader.server.limits import MB, Limits
    from digitreader.server.protocol import HEADER_TIMEOUT_ENV, protocol

    if not 0 < args.port < 65536:
        return fail(f"--port must be in 1..65535, got {args.port}")
    if args.workers < 1 or args.threads < 0:
        return fail("--workers must be at least 1 and --threads at least 0")
    for module in {args.http, args.loop} & {"httptools", "uvloop"}:
        if importlib.util.find_spec(module) is None:
            return fail(f"{module} is not installed: pip install {module}, or leave the choice to auto")
    if args.timeout_keep_alive < 1 or not args.timeout_header > 0 or args.limit_concurrency < 0:
        return fail("--timeout-keep-alive and --timeout-header must be positive, --limit-concurrency 0 or more")
    os.environ[HEADER_TIMEOUT_ENV] = str(args.timeout_header)
    connections = {
        "http": protocol(args.http),
        "timeout_keep_alive": args.timeout_keep_alive,
        "limit_concurrency": args.limit_concurrency or None,
    }
    try:
        limits = Limits(
            max_body_bytes=int(args.max_body_mb * MB),
            max_pixels=int(args.max_megapixels * 1e6),
            body_timeout=args.timeout_body,
        )
        resolve_model(args.model)
    except (ValueError, ModelError) as exc:
        return fail(str(exc))

    from digitreader.commands.ports import port_problem

    if problem := port_problem(args.host, args.port):  # before announcing the address
        return fail(problem)
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    from rich.markup import escape

    url = escape(f"http://{shown}:{args.port}/")
    out.print(f"digitreader: open [bold]{url}[/] (API docs at /docs); Ctrl+C to stop")
    # One line per request only with --log-level debug: the live drawing pad posts several a second.
    access_log = args.log_level == "debug"
    if args.workers == 1:
        from digitreader.server import create_app

        try:
            app = create_app(args.model, limits=limits, threads=args.threads or None)
        except ModelError as exc:
            return fail(str(exc))
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            loop=args.loop,
            access_log=access_log,
            **connections,
        )
        return 0
    # Several processes: each builds its own app (and loads the model once) from these settings.
    os.environ.update(
        DIGITREADER_MODEL=str(args.model),
        DIGITREADER_MAX_BODY_MB=str(args.max_body_mb),
        DIGITREADER_MAX_MEGAPIXELS=str(args.max_megapixels),
        DIGITREADER_THREADS=str(args.threads),
        DIGITREADER_BODY_TIMEOUT=str(args.timeout_body),
    )
    err.print(f"starting {args.workers} worker processes")
    uvicorn.run(
        "digitreader.server.app:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        loop=args.loop,
        access_log=access_log,
        **connections,
    )
    return 0
