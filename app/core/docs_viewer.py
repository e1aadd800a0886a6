"""The API viewer at /docs: Swagger UI served from the installed ``swagger-ui-py`` package,
so it works with no internet, and reading the document by its URL rather than inlining it.

Litestar's own Swagger plugin loads its scripts from a CDN and writes the whole document into
the page; behind a firewall (or on a train) that is a blank page of several hundred kilobytes.
"""

from __future__ import annotations

import json
import mimetypes
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from litestar import Request, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.response import File

# The package's files only (its Python code, for other frameworks, is never imported).
_PACKAGE = find_spec("swagger_ui")
if _PACKAGE is None or _PACKAGE.origin is None:
    raise RuntimeError("swagger-ui-py is not installed: run `make install`")
ASSETS = Path(_PACKAGE.origin).parent / "static"
ASSETS_PATH = "/swagger/assets"  # under the viewer's router (/schema)
# Only what the page loads; the package also carries Swagger Editor, which is not served.
SERVED = ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "oauth2-redirect.html",
          "favicon-32x32.png", "favicon-16x16.png")


class OfflineSwaggerUI(OpenAPIRenderPlugin):
    def __init__(self, path: str = "/swagger", init_oauth: dict[str, Any] | None = None) -> None:
        super().__init__(path=path, favicon="", style="<style>body { margin: 0; padding: 0 }</style>")
        self.init_oauth = init_oauth or {}

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        base = request.url.path.rsplit("/", 1)[0] + ASSETS_PATH  # /schema + /swagger/assets
        config = {
            "url": self.get_openapi_json_route(request),
            "dom_id": "#swagger-ui",
            "deepLinking": True,
            # Tags folded: some 260 operations open at once take the browser seconds to draw.
            "docExpansion": "none",
            "filter": True,
            "oauth2RedirectUrl": f"{request.base_url}".rstrip("/") + f"{base}/oauth2-redirect.html",
            "persistAuthorization": True,
        }
        title = openapi_schema["info"]["title"]
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" type="image/png" href="{base}/favicon-32x32.png">
  <link rel="stylesheet" href="{base}/swagger-ui.css">
  {self.style}
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{base}/swagger-ui-bundle.js"></script>
  <script src="{base}/swagger-ui-standalone-preset.js"></script>
  <script>
    const config = {json.dumps(config)};
    config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset];
    config.plugins = [SwaggerUIBundle.plugins.DownloadUrl];
    config.layout = "StandaloneLayout";
    window.ui = SwaggerUIBundle(config);
    window.ui.initOAuth({json.dumps(self.init_oauth)});
  </script>
</body>
</html>""".encode()

    def receive_router(self, router: Router) -> None:
        router.register(swagger_asset)


@get(ASSETS_PATH + "/{name:str}", name="swagger-asset", include_in_schema=False, sync_to_thread=False,
     cache_control=CacheControlHeader(max_age=86400, public=True))
def swagger_asset(name: str) -> File:
    """One of the viewer's files (the viewer's router is public: no token to read the docs)."""
    if name not in SERVED:
        raise NotFoundException()
    # Typed by name: with nosniff, a browser runs no script and applies no style sent untyped.
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return File(ASSETS / name, content_disposition_type="inline", media_type=media_type)
