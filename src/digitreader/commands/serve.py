"""Serve the web app (draw, upload, webcam) at / and the REST API under /api/v1, with OpenAPI docs at /docs.
The model is loaded once at start-up; requests over the size limits get 413.

  digitreader serve                                    corrections go to the default database
  DIGITREADER_ADMIN_TOKEN=... digitreader serve        also list/delete corrections and reload the model:
      curl -H "Authorization: Bearer $TOKEN" localhost:8000/api/v1/corrections
      curl -X POST -H "Authorization: Bearer $TOKEN" -d '{"model": "new.onnx"}' localhost:8000/api/v1/model/reload

Images are read in memory and never stored, except a correction the user chooses to send from
the page ("Not what you wrote?"), which goes to the SQLite file of --corrections.
Replacing the model file (mv new.onnx model.onnx) also swaps the model in, within --model-poll
seconds, in every worker.
"""

from __future__ import annotations

import argparse
import importlib.util
import os

from digitreader.commands.common import err, fail, out, say

HELP = "serve the web app and REST API"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, default=8000, help="TCP port")
    p.add_argument("--model", default="default", help="bundled model name or path to an .onnx file")
    p.add_argument(
        "--corrections",
        metavar="PATH",
        default=None,
        help="SQLite file where the page's corrections are stored (default: corrections.sqlite3 in the user data dir)",
    )
    p.add_argument("--no-corrections", action="store_true", help="turn POST /api/v1/corrections off (404)")
    p.add_argument(
        "--admin-token",
        metavar="TOKEN",
        default=None,
        help="the token that listing/deleting corrections and reloading the model need "
        "(default: $DIGITREADER_ADMIN_TOKEN, which keeps it out of the process list; none: those answer 404)",
    )
    p.add_argument(
        "--model-poll",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often each worker checks whether the model file was replaced or another worker reloaded (0: never)",
    )
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
    if args.model_poll < 0:
        return fail("--model-poll must be 0 or more")
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
        corrections = _corrections(args)
    except (ValueError, ModelError, OSError) as exc:
        return fail(str(exc))
    token = args.admin_token or os.environ.get("DIGITREADER_ADMIN_TOKEN") or None

    from digitreader.commands.ports import port_problem

    if problem := port_problem(args.host, args.port):  # before announcing the address
        return fail(problem)
    shown = "localhost" if args.host in ("127.0.0.1", "0.0.0.0", "::") else args.host
    from rich.markup import escape

    url = escape(f"http://{shown}:{args.port}/")
    out.print(f"digitreader: open [bold]{url}[/] (API docs at /docs); Ctrl+C to stop")
    where = corrections.path if corrections is not None else "off"
    say(f"corrections: {where}; admin endpoints: {'on' if token else 'off'}")
    # One line per request only with --log-level debug: the live drawing pad posts several a second.
    access_log = args.log_level == "debug"
    if args.workers == 1:
        from digitreader.server import create_app

        try:
            app = create_app(
                args.model,
                limits=limits,
                threads=args.threads or None,
                corrections=corrections,
                admin_token=token,
                model_poll=args.model_poll,
            )
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
    import tempfile

    shared = tempfile.mkdtemp(prefix="digitreader-serve-")  # the workers' reload marker (see server.swap)
    os.environ.update(
        DIGITREADER_CORRECTIONS=str(corrections.path) if corrections is not None else "",
        DIGITREADER_ADMIN_TOKEN=token or "",
        DIGITREADER_MODEL_POLL=str(args.model_poll),
        DIGITREADER_MODEL_MARKER=os.path.join(shared, "model.json"),
        DIGITREADER_MODEL=str(args.model),
        DIGITREADER_MAX_BODY_MB=str(args.max_body_mb),
        DIGITREADER_MAX_MEGAPIXELS=str(args.max_megapixels),
        DIGITREADER_THREADS=str(args.threads),
        DIGITREADER_BODY_TIMEOUT=str(args.timeout_body),
    )
    err.print(f"starting {args.workers} worker processes")
    try:
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
    finally:
        import shutil

        shutil.rmtree(shared, ignore_errors=True)
    return 0


def _corrections(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The corrections store (created, so that a path that cannot be written fails now), or None when off."""
    if args.no_corrections:
        return None
    from digitreader.corrections.store import CorrectionStore, default_path

    return CorrectionStore(args.corrections or default_path())
