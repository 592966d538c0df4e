"""Organisation settings (read by oversight roles, changed by admins, every change audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from bastion import orgsettings
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/api/v1/settings", tags=["settings"])


class SettingIn(BaseModel):
    value: Any


@router.get("", dependencies=[needs(Perm.SETTINGS_READ)])
def list_settings(db: Session = Depends(get_db)) -> dict[str, Any]:
    return orgsettings.list_values(db)


@router.put("/{key}")
def change_setting(key: str, body: SettingIn, request: Request, db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.SETTINGS_MANAGE)) -> dict[str, Any]:
    value = orgsettings.set_value(db, key, body.value, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return {"key": key, "value": value}
