"""The web app and REST API: ``create_app()`` builds the FastAPI application; ``digitreader serve`` runs it."""

from digitreader.server.app import create_app
from digitreader.server.limits import Limits

__all__ = ["Limits", "create_app"]
