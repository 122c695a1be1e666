"""The admin token: what lists, deletes and reloads need, sent as ``Authorization: Bearer TOKEN``.

No token configured: the admin endpoints answer 404, as if they did not exist. A missing or wrong
token: 401 with ``WWW-Authenticate: Bearer``. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

bearer = HTTPBearer(auto_error=False, description="the server's admin token (serve --admin-token)")
NO_TOKEN = "not found: this server has no admin token (start it with --admin-token or DIGITREADER_ADMIN_TOKEN)"


def require_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """A FastAPI dependency: pass with the right bearer token, else 404 (no token set) or 401."""
    token = request.app.state.digitreader.admin_token
    if not token:
        raise HTTPException(404, NO_TOKEN)
    given = credentials.credentials if credentials is not None else ""
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        why = "a wrong admin token" if given else "no admin token"
        raise HTTPException(401, f"{why}: send Authorization: Bearer TOKEN", {"WWW-Authenticate": "Bearer"})
