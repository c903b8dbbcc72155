"""examples/fastapi_webhooks.py: an RFI made in the fake reaches the handler, fetched back."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import httpx
import pytest

EXAMPLE = Path(__file__).parent.parent.parent / "examples" / "fastapi_webhooks.py"


def _load(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    pytest.importorskip("fastapi")
    monkeypatch.delenv("PROCORE_CLIENT_ID", raising=False)
    spec = importlib.util.spec_from_file_location("fastapi_webhooks_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_rfi_events_are_received_and_fetched_back(monkeypatch: pytest.MonkeyPatch) -> None:
    example = _load(monkeypatch)
    app = example.app
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        made = await http.post("/demo/rfis", params={"subject": "Which hinge?"})
        assert made.status_code == 201, made.text
        rfi_id = made.json()["id"]
        fake = app.state.fake
        await fake.webhooks.drain()
        await example.receiver.join()
        seen = (await http.get("/rfis/seen")).json()
        assert seen == [{"event": "create", "id": rfi_id, "subject": "Which hinge?"}]
        # A forged delivery is refused; the real one was not handled twice.
        forged = await http.post(
            "/procore/webhooks", json={"id": 1}, headers={"Authorization": "Bearer guess"}
        )
        assert forged.status_code == 401
        (delivery,) = fake.webhooks.deliveries(app.state.hook_id)
        assert delivery["status"] == "delivered"
    assert not example.receiver.running
