"""The API's documentation page (/docs, Swagger UI) with every asset served by the API itself.

FastAPI's default page loads Swagger UI from a CDN: an air-gapped office saw a blank page.
The assets come from the pinned ``fastapi-offline`` package (MIT; it ships swagger-ui's bundle
and stylesheet), mounted under ``/docs/assets``; the page names only same-origin URLs.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")


def assets_dir() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Serve /docs and its assets; `app` must be created with ``docs_url=None``."""
    folder = assets_dir()
    missing = [name for name in ASSET_FILES if not (folder / name).is_file()]
    if missing:  # a broken install: say so at start, not as a blank page later
        raise RuntimeError(f"Swagger UI assets missing from {folder}: {', '.join(missing)}")
    app.mount(ASSETS_URL, StaticFiles(directory=folder), name="docs-assets")
    redirect_url = app.swagger_ui_oauth2_redirect_url

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} — docs",
            oauth2_redirect_url=f"{root}{redirect_url}" if redirect_url else None,
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters)

    if redirect_url:
        @app.get(redirect_url, include_in_schema=False)
        async def swagger_ui_redirect() -> HTMLResponse:
            return get_swagger_ui_oauth2_redirect_html()
