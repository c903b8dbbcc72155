"""A FastAPI app that reacts to Procore RFI events and fetches each RFI back.

    pip install 'procore-async[webhooks]'
    uvicorn examples.fastapi_webhooks:app       # then: curl -X POST localhost:8000/demo/rfis

Without PROCORE_CLIENT_ID it runs against an in-process FakeProcore, which delivers
its events straight back into this app, so ``POST /demo/rfis`` creates an RFI, the
fake announces it, the handler fetches it, and ``GET /rfis/seen`` shows it.  With
PROCORE_CLIENT_ID, PROCORE_CLIENT_SECRET, PROCORE_COMPANY_ID, PUBLIC_URL (where
Procore can reach this app, https) and WEBHOOK_SECRET set, it registers the same hook
on Procore.

* ``client.webhooks.ensure`` at start-up: safe at every deploy, it changes only what
  differs and says what it changed.
* The receiver acknowledges each delivery at once and runs the handler afterwards,
  deduplicated on the event id (Procore may deliver an event twice).
* The handler gets a notification, not the data: it fetches the RFI with the client.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, HTTPException

import procore_async
from procore_async.testing import FakeProcore
from procore_async.webhooks import Scope, WebhookEvent, WebhookReceiver

CLIENT_ID = os.environ.get("PROCORE_CLIENT_ID", "")
PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8000")
SECRET = os.environ.get("WEBHOOK_SECRET") or f"Bearer {secrets.token_urlsafe(24)}"
PATH = "/procore/webhooks"

receiver = WebhookReceiver(authorization=SECRET)


@receiver.on("RFIs", "create")
@receiver.on("RFIs", "update")
async def rfi_changed(event: WebhookEvent) -> None:
    """Fetch the RFI the event names; Procore's event carries ids only."""
    client: procore_async.AsyncClient = app.state.client
    try:
        reply = await client.get(
            f"projects/{event.project_id}/rfis/{event.resource_id}", company_id=event.company_id
        )
    except procore_async.NotFoundError:
        return  # deleted again since: nothing to do
    app.state.seen.append({"event": event.event_type, "id": reply.body["id"], **_rfi(reply.body)})


def _rfi(body: dict[str, Any]) -> dict[str, Any]:
    return {"subject": body.get("subject")}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    fake = None if CLIENT_ID else FakeProcore(projects=2)
    if fake is not None:
        fake.webhooks.route(PUBLIC_URL, app)  # deliveries come straight back, in process
        client = fake.client()
        company_id = fake.company_id
    else:
        client = procore_async.AsyncClient(
            CLIENT_ID, os.environ["PROCORE_CLIENT_SECRET"], grant_type="client_credentials"
        )
        company_id = int(os.environ["PROCORE_COMPANY_ID"])
    async with client:
        app.state.client, app.state.fake, app.state.seen = client, fake, []
        app.state.company_id = company_id
        result = await client.webhooks.ensure(
            Scope.company(company_id),
            namespace="fastapi-webhooks-example",
            destination_url=PUBLIC_URL + PATH,
            triggers=[("RFIs", "create"), ("RFIs", "update")],
            headers={"Authorization": SECRET},
        )
        app.state.hook_id = result.hook.id
        yield
    if fake is not None:
        await fake.webhooks.aclose()


app = FastAPI(lifespan=lifespan)
app.include_router(receiver.router(PATH))  # its lifespan starts and stops the workers


@app.post("/demo/rfis", status_code=201)
async def create_rfi(subject: str = "Door hardware?") -> dict[str, Any]:
    """Make a change in the fake Procore, as a user of Procore would."""
    fake: FakeProcore | None = app.state.fake
    if fake is None:
        raise HTTPException(404, "only against the built-in FakeProcore")
    project = fake.records(fake.company_id, "projects")[0]["id"]
    rfi = {
        "subject": subject,
        "question": {"body": "Which one?"},
        "rfi_manager_id": fake.user["id"],
    }
    reply = await app.state.client.post(
        f"projects/{project}/rfis", body={"rfi": rfi}, company_id=fake.company_id
    )
    return {"id": reply.body["id"]}


@app.get("/rfis/seen")
async def seen() -> list[dict[str, Any]]:
    return list(app.state.seen)
