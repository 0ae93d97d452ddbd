"""The web app manifest: the diary added to a phone's home screen opens like an app, on the
patient's "today" page. Browsers fetch the manifest without cookies, so it needs no sign-in
(it holds nothing but the app's name, colours and icons)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

router = APIRouter(include_in_schema=False)

MANIFEST: dict[str, Any] = {
    "name": "ldnkit: my LDN diary",
    "short_name": "LDN diary",
    "description": "Your low-dose naltrexone diary: three taps and Save, your plan and your "
    "progress.",
    "id": "/me/today",
    "start_url": "/me/today",
    "scope": "/",
    "display": "standalone",
    "background_color": "#f7f8fa",
    "theme_color": "#1f5fa8",
    "icons": [
        {"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
        {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
        {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
    ],
}


@router.get("/manifest.webmanifest")
def manifest() -> Response:
    return JSONResponse(MANIFEST, media_type="application/manifest+json")
