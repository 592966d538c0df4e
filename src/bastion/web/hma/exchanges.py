"""/c/exchanges…, /c/exchange/<name>…: HMA's exchange curation endpoints, in HMA's shapes.

HMA names an exchange after the bank it fills and keeps credentials per exchange type
(`/c/exchanges/api/<api>`); Bastion keeps credentials per exchange, and uses the per-type
ones for an exchange that has none of its own. Deleting an exchange keeps its bank.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session
from threatexchange.exchanges.clients.ncmec.hash_api import NCMECEnvironment

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.errors import BastionError, InvalidInput
from bastion.exchanges import service
from bastion.exchanges.errors import ExchangeNotFound
from bastion.exchanges.models import Exchange
from bastion.exchanges.tasks import POLICY_SERVICE
from bastion.exchanges.types import TYPES
from bastion.web.hma.schemas import Body, HMAResponse, read_body
from bastion.web.state import get_db, get_state
from bastion.web.guard import needs

router = APIRouter(prefix="/c", tags=["HMA: curation"], default_response_class=HMAResponse)
BANK_NAME = re.compile(r"^[A-Z0-9_]+$")
DEFAULT_EVERY_MINUTES = 60


def _exchange(db: Session, name: str) -> Exchange:
    try:
        return service.get_exchange(db, name)
    except ExchangeNotFound:
        raise HTTPException(404, f"Exchange '{name}' not found") from None


def _config_json(db: Session, exchange: Exchange) -> dict[str, Any]:
    """The collaboration config as HMA serialises it: name, api, enabled, then the type's own fields.

    NCMEC's environment is the environment's URL there (python-threatexchange's enum value), and a
    `base_url` appears only when one is set (HMA has none).
    """
    view = service.view(db, exchange)
    settings = dict(view.settings)
    if view.api == "ncmec":
        settings["environment"] = NCMECEnvironment[settings["environment"]].value
        if not settings.get("base_url"):
            settings.pop("base_url", None)
    return {**settings, "name": view.name, "api": view.api, "enabled": not view.paused}


@router.get("/exchanges/apis", dependencies=[needs(Perm.EXCHANGES_READ)])
def exchange_apis() -> list[str]:
    return list(TYPES)


def _api_or_400(api_name: str) -> str:
    if api_name not in TYPES:
        raise HTTPException(400, f"no such Exchange API '{api_name}'")
    return api_name


@router.get("/exchanges/api/{api_name}", dependencies=[needs(Perm.EXCHANGES_READ)])
def exchange_api(api_name: str, db: Session = Depends(get_db)) -> dict[str, Any]:
    _api_or_400(api_name)
    return {"supports_authentification": bool(TYPES[api_name].credentials),
            "has_set_authentification": service.has_api_credentials(db, api_name)}


@router.get("/exchanges/api/{api_name}/schema", dependencies=[needs(Perm.EXCHANGES_READ)])
def exchange_api_schema(api_name: str) -> dict[str, Any]:
    """The fields of `api_json` and of the credentials, for building forms, as HMA describes them."""
    kind = TYPES[_api_or_400(api_name)]
    config = [{"name": name, "type": "enum" if rule.choices else rule.kind, "required": rule.required,
               "default": rule.default, "help": kind.settings[name], "choices": list(rule.choices) or None}
              for name, rule in kind.form.items()]
    credentials = [{"name": name, "type": "string", "required": False, "default": None, "help": text,
                    "choices": None} for name, text in kind.credentials.items()]
    return {"config_schema": {"fields": config},
            "credentials_schema": {"fields": credentials} if credentials else None}


@router.post("/exchanges/api/{api_name}")
def exchange_api_credentials(api_name: str, request: Request, body: Body = Depends(read_body),
                             db: Session = Depends(get_db),
                             principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> dict[str, Any]:
    """`{"credential_json": {...}}` sets the type's credentials (an empty object clears them)."""
    _api_or_400(api_name)
    data = body.json()
    if not isinstance(data, dict):
        raise HTTPException(400, "this endpoint expects a json object payload")
    credentials = data.get("credential_json")
    if credentials is not None:
        if not isinstance(credentials, dict):
            raise HTTPException(400, "credential_json must be an object")
        state = get_state(request)
        try:
            service.set_api_credentials(db, api_name, credentials, actor=principal.actor, clock=state.clock,
                                        secret=state.secret)
        except InvalidInput as exc:
            raise HTTPException(400, exc.message) from None
        db.commit()
    return exchange_api(api_name, db)


@router.post("/exchanges", status_code=201)
def exchange_create(request: Request, body: Body = Depends(read_body), db: Session = Depends(get_db),
                    principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> dict[str, Any]:
    """`{"bank": "NAME", "api": "ncmec", "api_json": {...}}`: an exchange filling the bank NAME (made if missing)."""
    data = body.json()
    if not isinstance(data, dict) or "bank" not in data:
        raise HTTPException(400, "Missing required parameter: bank")
    bank, api_json, api = data.get("bank"), data.get("api_json", {}), data.get("api")
    if not isinstance(bank, str) or not BANK_NAME.match(bank):
        raise HTTPException(400, "Field `bank` must match /^[A-Z0-9_]+$/")
    if not isinstance(api_json, dict):
        raise HTTPException(400, "Field `api_json` must be object")
    if api is None:
        raise HTTPException(400, "Field `api_type` is required")
    if api not in TYPES:
        raise HTTPException(400, f"No such exchange type '{api}'")
    state = get_state(request)
    settings = {k: v for k, v in api_json.items() if k not in ("name", "api", "enabled")}
    try:
        exchange = service.add_exchange(
            db, name=bank, api=api, settings=settings, bank_names=[bank], credentials={},
            fetch_every_minutes=DEFAULT_EVERY_MINUTES, actor=principal.actor, clock=state.clock, secret=state.secret,
            policy=state.services[POLICY_SERVICE], create_banks=True, require_credentials=False)
        if api_json.get("enabled") is False:
            service.set_paused(db, exchange, True, actor=principal.actor, clock=state.clock)
    except BastionError as exc:
        db.rollback()
        raise HTTPException(400, f"Failed to parse `api_json` - verify all fields are supplied. {exc.message}") from None
    db.commit()
    return {"message": "Created successfully"}


@router.get("/exchanges", dependencies=[needs(Perm.EXCHANGES_READ)])
def exchange_list(db: Session = Depends(get_db)) -> list[str]:
    return [e.name for e in service.list_exchanges(db)]


@router.get("/exchange/{exchange_name}", dependencies=[needs(Perm.EXCHANGES_READ)])
def exchange_show(exchange_name: str, db: Session = Depends(get_db)) -> dict[str, Any]:
    return _config_json(db, _exchange(db, exchange_name))


@router.get("/exchange/{exchange_name}/status", dependencies=[needs(Perm.EXCHANGES_READ)])
def exchange_status(exchange_name: str, db: Session = Depends(get_db)) -> dict[str, Any]:
    """HMA's FetchStatus: unix times (or null), whether the last fetch succeeded, and the items held."""
    view = service.view(db, _exchange(db, exchange_name))

    def unix(when: Any) -> int | None:
        return int(when.timestamp()) if when is not None else None

    return {"checkpoint_ts": view.checkpoint_ts if view.checkpoint_ts is not None else unix(view.checkpoint_at),
            "running_fetch_start_ts": unix(view.fetch_started_at), "last_fetch_complete_ts": unix(view.last_fetch_at),
            "last_fetch_succeeded": view.last_succeeded, "up_to_date": bool(view.last_succeeded) and view.status == "ok",
            "fetched_items": view.live_items}


@router.put("/exchange/{exchange_name}")
def exchange_update(exchange_name: str, request: Request, body: Body = Depends(read_body),
                    db: Session = Depends(get_db), principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> dict[str, Any]:
    """`{"enabled": false}` pauses the exchange, `true` resumes it."""
    exchange = _exchange(db, exchange_name)
    data = body.json()
    if isinstance(data, dict) and "enabled" in data:
        service.set_paused(db, exchange, not bool(data["enabled"]), actor=principal.actor,
                           clock=get_state(request).clock)
        db.commit()
    return _config_json(db, exchange)


@router.delete("/exchange/{exchange_name}")
def exchange_delete(exchange_name: str, request: Request, db: Session = Depends(get_db),
                    principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> dict[str, Any]:
    """Always `{"message": "Exchange deleted"}` (HMA's answer whether or not it existed); its bank stays."""
    try:
        exchange = service.get_exchange(db, exchange_name)
    except ExchangeNotFound:
        return {"message": "Exchange deleted"}
    service.delete_exchange(db, exchange, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return {"message": "Exchange deleted"}
