"""A local stand-in for an external classifier of unknown material, for development and tests only.

It speaks the shape `bastion.cases.classifiers.HttpClassifier` expects: `POST /v1/classify` with the
media bytes and `Authorization: Bearer <key>` (401 otherwise), answering `{"model", "score"}`. Real
services (Google's Content Safety API, Thorn's Safer Predict) judge content; this one judges only
colour, so tests can steer it with synthetic pictures: the score is how red the image is on average
(a pure red picture scores 1.0, a blue one 0.0). It keeps a count of the calls it answered.
"""

from __future__ import annotations

import io

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from PIL import Image, UnidentifiedImageError

from bastion.dev.serving import BackgroundServer

__all__ = ["ClassifierStandinServer", "create_classifier_standin_app", "MODEL"]

MODEL = "standin-redness-v1"


def _redness(data: bytes) -> float:
    with Image.open(io.BytesIO(data)) as image:
        raw = image.convert("RGB").resize((16, 16)).tobytes()
    pixels = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
    red = sum(max(0, r - (g + b) / 2) for r, g, b in pixels) / (255 * len(pixels))
    return round(min(1.0, max(0.0, red)), 4)


def create_classifier_standin_app(api_key: str) -> FastAPI:
    app = FastAPI(title="Classifier stand-in", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.calls = 0

    @app.post("/v1/classify")
    async def classify(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {api_key}":
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        body = await request.body()
        try:
            score = _redness(body)
        except (UnidentifiedImageError, OSError, ValueError):
            return JSONResponse({"error": "not an image this stand-in can read"}, status_code=422)
        app.state.calls += 1
        return JSONResponse({"model": MODEL, "score": score})

    return app


class ClassifierStandinServer(BackgroundServer):
    """``with ClassifierStandinServer(key) as s: s.base_url``; ``s.calls`` counts answered requests."""

    def __init__(self, api_key: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._standin = create_classifier_standin_app(api_key)
        super().__init__(self._standin, host=host, port=port)

    @property
    def calls(self) -> int:
        return int(self._standin.state.calls)
