"""Sites and users (admin), plus who-am-I and the trial definition for any signed-in role."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine

from oncotrial.irt.config import ROLES
from oncotrial.irt.db.engine import read_tx
from oncotrial.irt.dependencies import get_engine, get_trial, require
from oncotrial.irt.schemas import DeactivateIn, MonitorSitesIn, SiteIn, TokenIn, UserIn
from oncotrial.irt.services import monitors, setup
from oncotrial.irt.services.actors import Actor
from oncotrial.irt.services.trial import Trial

router = APIRouter(prefix="/api/v1", tags=["admin"])


@router.get("/me")
def me(actor: Annotated[Actor, Depends(require(*ROLES))]) -> dict[str, Any]:
    return {"name": actor.name, "role": actor.role, "site": actor.site}


@router.get("/protocol")
def protocol(actor: Annotated[Actor, Depends(require(*ROLES))],
             trial: Annotated[Trial, Depends(get_trial)]) -> dict[str, Any]:
    """What a client needs to randomize: arms, stratification factors and levels, eligibility."""
    return {
        "study_id": trial.study_id, "method": trial.method,
        "arms": [{"code": a.code, "name": a.name, "ratio": a.ratio} for a in trial.arms],
        "stratification_factors": [{"name": f.name, "label": f.label,
                                    "levels": [{"code": c, "label": lab} for c, lab in f.levels]}
                                   for f in trial.factors],
        "eligibility": [{"id": c.id, "kind": c.kind, "text": c.text} for c in trial.eligibility],
    }


@router.get("/sites")
def get_sites(actor: Annotated[Actor, Depends(require("admin", "statistician", "monitor", "data_manager"))],
              engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return {"items": setup.list_sites(conn)}


@router.post("/sites", status_code=201)
def post_site(body: SiteIn, actor: Annotated[Actor, Depends(require("admin"))],
              engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    record = setup.add_site(engine, body.site, body.country, body.name, actor=actor.label)
    record.pop("id")
    return record


@router.get("/users")
def get_users(actor: Annotated[Actor, Depends(require("admin"))],
              engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    with read_tx(engine) as conn:
        return {"items": setup.list_users(conn)}


@router.post("/users", status_code=201)
def post_user(body: UserIn, actor: Annotated[Actor, Depends(require("admin"))],
              engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    """Create a user; the response holds the user's first API token (shown once)."""
    record, token = setup.add_user(engine, body.name, body.role, site=body.site, password=body.password,
                                   token_ttl_days=body.token_ttl_days, actor=actor.label)
    record.pop("id")
    return {**record, "token": token}


@router.post("/users/{name}/tokens", status_code=201)
def post_token(name: str, body: TokenIn, actor: Annotated[Actor, Depends(require("admin"))],
               engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    return {"name": name, "token": setup.issue_token(engine, name, ttl_days=body.ttl_days, actor=actor.label)}


@router.post("/users/{name}/deactivate")
def deactivate_user(name: str, body: DeactivateIn, request: Request,
                    actor: Annotated[Actor, Depends(require("admin"))],
                    engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    """Deactivate a user and revoke their tokens (users are never deleted: the trail names them)."""
    result = setup.set_user_active(engine, name, False, reason=body.reason, actor=actor.label)
    request.app.state.token_cache.clear()
    return result


@router.put("/users/{name}/sites")
def put_monitor_sites(name: str, body: MonitorSitesIn, request: Request,
                      actor: Annotated[Actor, Depends(require("admin"))],
                      engine: Annotated[Engine, Depends(get_engine)]) -> dict[str, Any]:
    """Set the sites a monitor sees; the change applies to the monitor's next request."""
    result = monitors.assign_sites(engine, name, body.sites, reason=body.reason, actor=actor.label)
    request.app.state.token_cache.clear()
    return result
