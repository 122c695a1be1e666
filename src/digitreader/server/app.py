"""The FastAPI application: REST API under ``/api/v1``, the web page at ``/``, OpenAPI at ``/docs`` and ``/redoc``."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from digitreader import __version__
from digitreader.corrections.store import CorrectionStore
from digitreader.engine import Recognizer
from digitreader.server.corrections import router as corrections_router
from digitreader.server.headers import SecurityHeadersMiddleware
from digitreader.server.limits import MB, BodyLimitMiddleware, Limits
from digitreader.server.routes import router
from digitreader.server.state import ServerState
from digitreader.server.swap import ModelSlot

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("digitreader.server")

DESCRIPTION = """Read handwritten digits in drawings, photos and scans.

Send an image as a multipart file (field `image`), as JSON `{"image": "<base64 or data URL>"}`,
as the raw file with an `image/*` Content-Type, or a ready MNIST-style input as JSON
`{"pixels": [784 numbers in 0..1]}`. Errors come back as `{"detail": "..."}` with a 4xx status.

A user may send a correction (`POST /api/v1/corrections`: the image and what they wrote); that
image is stored. Every other image is read in memory and never stored. Listing and deleting
corrections and reloading the model need the server's admin token (`Authorization: Bearer TOKEN`).
"""


def create_app(
    model: str | os.PathLike[str] = "default",
    *,
    recognizer: Recognizer | None = None,
    limits: Limits | None = None,
    threads: int | None = None,
    corrections: str | os.PathLike[str] | CorrectionStore | None = None,
    admin_token: str | None = None,
    model_poll: float = 1.0,
    model_marker: str | os.PathLike[str] | None = None,
) -> FastAPI:
    """Build the app; the model is loaded here, once (pass ``recognizer`` to share one already loaded).

    ``threads`` sizes the inference pool (default: the CPU count); each inference runs on one core.
    ``corrections``: the SQLite file (or store) where ``POST /api/v1/corrections`` stores; None: off.
    ``admin_token``: what the admin endpoints need; None: they answer 404.
    ``model_poll``: seconds between checks of the model file and of ``model_marker`` (the file
    that workers of one server share to follow a reload; see ``swap``); 0: no checks.
    """
    recognizer = recognizer or Recognizer(model, threads=1)
    store = CorrectionStore(corrections) if isinstance(corrections, (str, os.PathLike)) else corrections
    state = ServerState(
        models=ModelSlot(recognizer, Path(model_marker) if model_marker else None, model_poll),
        limits=limits or Limits(),
        threads=threads or os.cpu_count() or 1,
        corrections=store,
        admin_token=admin_token or None,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("digitreader %s serving model %r (%s)", __version__, recognizer.name, recognizer.path)
        if store is not None:
            log.info("corrections are stored in %s", store.path)
        state.open()
        watch = asyncio.create_task(state.models.watch()) if model_poll > 0 else None
        yield
        if watch is not None:
            watch.cancel()
        state.close()

    app = FastAPI(
        title="digitreader",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by _add_offline_docs, from the package rather than a CDN
        redoc_url=None,
    )
    app.state.digitreader = state
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=state.limits.max_body_bytes, body_timeout=state.limits.body_timeout
    )
    app.add_middleware(SecurityHeadersMiddleware)  # outermost: on every answer, the 413s and 408s included
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(router)
    app.include_router(corrections_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    _add_offline_docs(app)
    return app


def _add_offline_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` from copies in ``static/vendor/``: they work without internet."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/icon.svg",
            # FastAPI's defaults, less the online validator (Swagger UI would send the schema to swagger.io)
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url="/static/vendor/redoc.standalone.js",
            redoc_favicon_url="/static/icon.svg",
            with_google_fonts=False,
        )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own validation errors (query, path) as one readable ``detail`` string, like ours."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors]
    return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, status_code=422)


def create_app_from_env() -> FastAPI:
    """App factory for ``uvicorn --factory`` and multi-worker serving; settings come from the environment."""
    limits = Limits(
        max_body_bytes=int(float(os.environ.get("DIGITREADER_MAX_BODY_MB", "10")) * MB),
        max_pixels=int(float(os.environ.get("DIGITREADER_MAX_MEGAPIXELS", "40")) * 1_000_000),
        body_timeout=float(os.environ.get("DIGITREADER_BODY_TIMEOUT", "30")),
    )
    threads = int(os.environ.get("DIGITREADER_THREADS", "0")) or None
    return create_app(
        os.environ.get("DIGITREADER_MODEL", "default"),
        limits=limits,
        threads=threads,
        corrections=os.environ.get("DIGITREADER_CORRECTIONS") or None,  # empty: off
        admin_token=os.environ.get("DIGITREADER_ADMIN_TOKEN") or None,
        model_poll=float(os.environ.get("DIGITREADER_MODEL_POLL", "1")),
        model_marker=os.environ.get("DIGITREADER_MODEL_MARKER") or None,
    )
