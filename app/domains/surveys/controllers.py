"""HTTP for the surveys domain: translate requests to service calls, nothing more."""

from __future__ import annotations

from litestar import Controller

CONTROLLERS: list[type[Controller]] = []
