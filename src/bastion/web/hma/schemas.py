"""Request models, request reading and the response class of the HMA API.

HMA (flask-openapi3) validates declared query and body models itself and answers
422 with pydantic's bare error list (`loc` without "query"/"body"). FastAPI's own
validation would put the location first, so declared models are validated here,
from the raw query string or JSON body, and failures are raised as
`RequestValidationError` carrying pydantic's list unchanged (rendered by
`bastion.web.errors`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData, UploadFile

M = TypeVar("M", bound=BaseModel)

#: JSON request bodies of this API are small; anything bigger is refused unread.
MAX_JSON_BYTES = 1024 * 1024
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class HMAResponse(JSONResponse):
    """JSON with sorted keys, as Flask's default provider writes it."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, sort_keys=True, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8")


# -- declared models ([validated] in docs/hma-api-reference.md) ------------------------


class HashQuery(BaseModel):
    url: str
    content_type: str | None = None
    types: str | None = None
    conversion: str | None = None  # Bastion's: "bastion" (default) or "hma" (python-threatexchange's pixels)


class RawLookupQuery(BaseModel):
    signal: str
    signal_type: str
    banks: str | None = None
    include_distance: bool = False


class LookupQuery(BaseModel):
    url: str | None = None
    content_type: str | None = None
    types: str | None = None
    signal: str | None = None
    signal_type: str | None = None
    banks: str | None = None
    seed: str | None = None
    bypass_coinflip: bool = False  # declared upstream, ignored by GET


class BankCreate(BaseModel):
    name: str
    enabled_ratio: FiniteFloat | None = 1.0
    enabled: bool | None = None


class BankUpdate(BaseModel):
    name: str | None = None
    enabled_ratio: FiniteFloat | None = None
    enabled: bool | None = None


class BankedContentMetadata(BaseModel):
    """User metadata of banked content; unknown keys are refused."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    content_id: str | None = None
    content_uri: str | None = None
    json_data: dict[str, Any] | None = Field(None, alias="json", serialization_alias="json")
    collab: dict[str, list[str]] | None = None


def validated(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(json.loads(exc.json())) from None


def query_dict(request: Request) -> dict[str, str]:
    """Query parameters, the first value of each (as Flask's `request.args` gives them)."""
    params = request.query_params
    return {key: params.getlist(key)[0] for key in params}


def query_model(model: type[M]) -> Any:
    """A dependency validating the query string against `model` (declare it after `needs`)."""

    def dependency(request: Request) -> M:
        return validated(model, query_dict(request))

    dependency.__name__ = f"query_{model.__name__}"
    return dependency


def query_doc(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` documenting `model` as query parameters."""
    params = []
    for name, field in model.model_fields.items():
        kind = "boolean" if field.annotation is bool else "string"
        params.append({"name": name, "in": "query", "required": field.is_required(), "schema": {"type": kind}})
    return {"parameters": params}


# -- the request body ---------------------------------------------------------------


@dataclass
class Body:
    """The request body as HMA's handlers see it; errors are raised where HMA raises them."""

    mimetype: str
    raw: bytes
    form: FormData | None
    too_large: bool = False

    @property
    def is_json(self) -> bool:
        return self.mimetype == "application/json" or (
            self.mimetype.startswith("application/") and self.mimetype.endswith("+json"))

    def json(self) -> Any:
        """Flask's `request.get_json()`: 415 unless JSON, 400 if it does not parse."""
        if not self.is_json:
            raise HTTPException(415, "Did not attempt to load JSON data because the request Content-Type "
                                     "was not 'application/json'.")
        if self.too_large:
            raise HTTPException(413, "Content too large")
        try:
            return json.loads(self.raw)
        except ValueError:
            raise HTTPException(400, "The browser (or proxy) sent a request that this server could not "
                                     "understand.") from None

    def json_object(self) -> dict[str, Any] | None:
        """The body if it is a JSON object (`request.is_json and isinstance(request.json, dict)`)."""
        if not self.is_json:
            return None
        value = self.json()
        return value if isinstance(value, dict) else None

    def files(self) -> list[tuple[str, UploadFile]]:
        if self.form is None:
            return []
        return [(key, value) for key, value in self.form.multi_items() if isinstance(value, UploadFile)]

    def field(self, name: str) -> str | None:
        if self.form is None:
            return None
        value = self.form.get(name)
        return value if isinstance(value, str) else None


async def read_body(request: Request) -> Body:
    """Read the body once: forms through Starlette (cached; the guard may have read it), JSON capped."""
    mimetype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if mimetype in FORM_TYPES:
        return Body(mimetype, b"", await request.form())
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_JSON_BYTES:
        return Body(mimetype, b"", None, too_large=True)
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_JSON_BYTES:
            return Body(mimetype, b"", None, too_large=True)
        chunks.append(chunk)
    return Body(mimetype, b"".join(chunks), None)
