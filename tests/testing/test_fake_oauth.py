"""FakeProcore's OAuth server: grants, single-use refresh tokens, codes, revoke, info."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from procore_async.testing import FakeProcore

from .conftest import Clock, app_form

EXPIRED = "Your access token has expired, please use your refresh token to obtain a fresh token."


async def grant(http: httpx.AsyncClient, fake: FakeProcore, **params: str) -> httpx.Response:
    return await http.post("/oauth/token", data=app_form(fake, **params))


async def test_client_credentials_form_grant_has_procore_shape(
    http: httpx.AsyncClient, fake: FakeProcore, clock: Clock
) -> None:
    response = await grant(http, fake, grant_type="client_credentials")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "created_at"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 5400
    assert body["created_at"] == int(clock.now)
    assert body["access_token"].startswith("eyJ")
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/token/"])
async def test_json_body_and_trailing_slash_are_accepted(
    http: httpx.AsyncClient, fake: FakeProcore, path: str
) -> None:
    token = fake.issue_token()
    response = await http.post(
        path, json=app_form(fake, grant_type="refresh_token", refresh_token=token.refresh_token)
    )
    assert response.status_code == 200
    assert response.json()["refresh_token"] != token.refresh_token


async def test_multipart_body_as_curl_dash_f_sends_it(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    fields = app_form(fake, grant_type="client_credentials")
    files = {name: (None, value) for name, value in fields.items()}
    response = await http.post("/oauth/token", files=files)
    assert response.status_code == 200, response.text


async def test_http_basic_client_authentication_is_refused(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    # Procore takes client_id/client_secret in the form body; HTTP Basic is not enough.
    basic = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert fake.stats.token_grants["client_credentials"] == 0


async def test_lenient_fake_accepts_http_basic(
    lenient_http: httpx.AsyncClient, lenient: FakeProcore
) -> None:
    basic = base64.b64encode(f"{lenient.client_id}:{lenient.client_secret}".encode()).decode()
    response = await lenient_http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200


async def test_bad_client_is_401_invalid_client(http: httpx.AsyncClient, fake: FakeProcore) -> None:
    response = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": fake.client_id,
              "client_secret": "wrong"},
    )  # fmt: skip
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "error_description" in response.json()
    assert fake.stats.oauth_errors["invalid_client"] == 1


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "invalid_grant"),
        ({"grant_type": "authorization_code", "code": "nope"}, "invalid_grant"),
    ],
)
async def test_bad_grants_are_400_rfc6749_errors(
    http: httpx.AsyncClient, fake: FakeProcore, params: dict[str, str], error: str
) -> None:
    response = await grant(http, fake, **params)
    assert response.status_code == 400
    assert response.json()["error"] == error


async def test_refresh_token_is_single_use(http: httpx.AsyncClient, fake: FakeProcore) -> None:
    token = fake.issue_token()
    first = await grant(http, fake, grant_type="refresh_token", refresh_token=token.refresh_token)
    assert first.status_code == 200
    again = await grant(http, fake, grant_type="refresh_token", refresh_token=token.refresh_token)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant",
                            "error_description": "The refresh token is invalid"}  # fmt: skip
    chained = await grant(
        http, fake, grant_type="refresh_token", refresh_token=first.json()["refresh_token"]
    )
    assert chained.status_code == 200
    assert fake.stats.refreshes == 2


async def test_a_failed_refresh_call_spends_the_refresh_token_too(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    token = fake.issue_token()
    bad_client = await http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token.refresh_token,
              "client_id": fake.client_id, "client_secret": "wrong"},
    )  # fmt: skip
    assert bad_client.status_code == 401
    retry = await grant(http, fake, grant_type="refresh_token", refresh_token=token.refresh_token)
    assert retry.status_code == 400
    assert fake.stats.refreshes == 0


async def test_client_credentials_tokens_have_no_refresh_token(fake: FakeProcore) -> None:
    token = fake.issue_token(service_account=True)
    assert token.refresh_token is None


async def test_authorize_redirects_with_code_and_state_then_code_is_single_use(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    response = await http.get(
        "/oauth/authorize",
        params={"response_type": "code", "client_id": fake.client_id,
                "redirect_uri": fake.redirect_uri, "state": "xyz 1"},
    )  # fmt: skip
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == fake.redirect_uri
    query = parse_qs(location.query)
    assert query["state"] == ["xyz 1"]
    code = query["code"][0]
    params = {"grant_type": "authorization_code", "code": code, "redirect_uri": fake.redirect_uri}
    exchanged = await grant(http, fake, **params)
    assert exchanged.status_code == 200
    assert "refresh_token" in exchanged.json()
    assert (await grant(http, fake, **params)).status_code == 400
    assert fake.stats.token_grants["authorization_code"] == 1


async def test_authorize_rejects_unregistered_redirect_uri(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    response = await http.get(
        "/oauth/authorize",
        params={"response_type": "code", "client_id": fake.client_id,
                "redirect_uri": fake.redirect_uri + "/"},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"


async def test_code_expires_after_ten_minutes_and_needs_its_redirect_uri(
    http: httpx.AsyncClient, fake: FakeProcore, clock: Clock
) -> None:
    stale = fake.authorization_code()
    clock.advance(601)
    expired = await grant(
        http, fake, grant_type="authorization_code", code=stale, redirect_uri=fake.redirect_uri
    )
    assert expired.status_code == 400
    code = fake.authorization_code()
    wrong = await grant(
        http, fake, grant_type="authorization_code", code=code, redirect_uri="http://evil.test/"
    )
    assert wrong.status_code == 400


async def test_expired_unknown_and_revoked_tokens_get_401(
    http: httpx.AsyncClient, fake: FakeProcore, clock: Clock
) -> None:
    short = fake.issue_token(expires_in=10)
    headers = {"Authorization": f"Bearer {short.access_token}"}
    assert (await http.get("/rest/v1.0/me", headers=headers)).status_code == 200
    clock.advance(10)
    expired = await http.get("/rest/v1.0/me", headers=headers)
    assert expired.status_code == 401
    assert expired.json() == {"errors": EXPIRED}
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    unknown = await http.get("/rest/v1.0/me", headers={"Authorization": "Bearer nope"})
    assert unknown.json() == {"errors": "The access token is invalid"}
    assert (await http.get("/rest/v1.0/me")).status_code == 401


async def test_revoke_is_always_200_and_takes_the_refresh_token_along(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    token = fake.issue_token()
    for value in (token.access_token, token.access_token, "never-issued"):
        response = await http.post("/oauth/revoke", data=app_form(fake, token=str(value)))
        assert (response.status_code, response.json()) == (200, {})
    me = await http.get("/rest/v1.0/me", headers={"Authorization": f"Bearer {token.access_token}"})
    assert me.status_code == 401
    refresh = await grant(http, fake, grant_type="refresh_token", refresh_token=token.refresh_token)
    assert refresh.status_code == 400


async def test_old_access_token_stays_valid_after_a_refresh(
    http: httpx.AsyncClient, fake: FakeProcore
) -> None:
    token = fake.issue_token()
    await grant(http, fake, grant_type="refresh_token", refresh_token=token.refresh_token)
    me = await http.get("/rest/v1.0/me", headers={"Authorization": f"Bearer {token.access_token}"})
    assert me.status_code == 200


async def test_token_info_describes_a_live_token(
    http: httpx.AsyncClient, fake: FakeProcore, clock: Clock
) -> None:
    token = fake.issue_token()
    clock.advance(400)
    response = await http.get(
        "/oauth/token/info", headers={"Authorization": f"Bearer {token.access_token}"}
    )
    assert response.json() == {
        "resource_owner_id": fake.user["id"],
        "scopes": [],
        "expires_in_seconds": 5000,
        "application": {"uid": fake.client_id},
        "created_at": int(clock.now - 400),
    }
    fake.expire_token(str(token.access_token))
    response = await http.get(
        "/oauth/token/info", headers={"Authorization": f"Bearer {token.access_token}"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


async def test_token_lifetime_is_configurable(clock: Clock) -> None:
    fake = FakeProcore(token_lifetime=900, clock=clock)
    async with httpx.AsyncClient(transport=fake.transport(), base_url="http://x") as http:
        response = await grant(http, fake, grant_type="client_credentials")
    assert response.json()["expires_in"] == 900
