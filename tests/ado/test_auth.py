"""Each ADO auth mode puts the right header on a real request, fetches tokens from a real local
endpoint once (cached), and never shows a secret."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
import requests
from werkzeug.wrappers import Request, Response

from shared.ado.auth import ADO_RESOURCE, ADO_SCOPE, ManagedIdentityAuth, PatAuth, ServicePrincipalAuth
from shared.ado.client import AdoClient
from shared.ado.errors import AdoAuthError
from tests.ado.scripted_server import FakeTime, reply, serve
from tests.ado.tls_server import RunningTlsServer, self_signed

SECRET = "s3cr3t-value-never-shown"


def _ado_call(auth: object) -> dict[str, str]:
    with serve(reply({"count": 0, "value": []})) as (app, url):
        client = AdoClient(url + "/tfs/DefaultCollection", auth, sleep=FakeTime().sleep)  # type: ignore[arg-type]
        client.projects()
        client.projects()
    assert app.seen[0].path == "/tfs/DefaultCollection/_apis/projects"
    assert app.seen[0].headers["X-Tfs-Fedauthredirect"] == "Suppress"
    return app.seen[-1].headers


def test_pat_is_basic_with_empty_user_and_hidden() -> None:
    auth = PatAuth(SECRET)
    headers = _ado_call(auth)
    scheme, value = headers["Authorization"].split(" ", 1)
    assert scheme == "Basic" and base64.b64decode(value).decode() == f":{SECRET}"
    assert SECRET not in repr(auth) and SECRET not in str(auth)
    with pytest.raises(ValueError, match="pat"):
        PatAuth(" ")


class TokenEndpoint:
    """OpenID discovery document plus a client-credentials token endpoint."""

    def __init__(self) -> None:
        self.base = ""
        self.token_requests: list[dict[str, str]] = []
        self.fail = False

    def __call__(self, environ: dict, start_response: object) -> object:
        request = Request(environ)
        if request.path.endswith("/.well-known/openid-configuration"):
            tenant = self.base + "/tenant-1"
            doc = {"issuer": f"{tenant}/v2.0", "token_endpoint": f"{tenant}/oauth2/v2.0/token",
                   "authorization_endpoint": f"{tenant}/oauth2/v2.0/authorize"}
            response = reply(doc)
        elif request.path.endswith("/oauth2/v2.0/token"):
            self.token_requests.append(request.form.to_dict())
            if self.fail:
                response = reply({"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"},
                                 401)
            else:
                response = reply({"access_token": f"jwt-{len(self.token_requests)}", "token_type": "Bearer",
                                  "expires_in": 3599})
        else:
            response = Response("not found", 404)
        return response(environ, start_response)  # type: ignore[operator]


@pytest.fixture
def token_endpoint(tmp_path: Path):
    cert, key = self_signed(tmp_path)
    endpoint = TokenEndpoint()
    server = RunningTlsServer(endpoint, cert, key)
    endpoint.base = server.url
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override verify
    session.verify = str(cert)
    yield endpoint, server.url, session
    server.stop()


def test_service_principal_gets_one_token_and_reuses_it(token_endpoint) -> None:
    endpoint, url, session = token_endpoint
    auth = ServicePrincipalAuth("tenant-1", "app-id", SECRET, authority=f"{url}/tenant-1", http_client=session)
    headers = _ado_call(auth)
    assert headers["Authorization"] == "Bearer jwt-1"
    assert len(endpoint.token_requests) == 1
    grant = endpoint.token_requests[0]
    assert grant["grant_type"] == "client_credentials" and grant["scope"].split()[0] == ADO_SCOPE
    assert grant["client_id"] == "app-id"
    assert SECRET not in repr(auth)


def test_service_principal_failure_is_auth_error_without_secret(token_endpoint) -> None:
    endpoint, url, session = token_endpoint
    endpoint.fail = True
    auth = ServicePrincipalAuth("tenant-1", "app-id", SECRET, authority=f"{url}/tenant-1", http_client=session)
    with pytest.raises(AdoAuthError, match="invalid_client") as info:
        auth.headers()
    assert SECRET not in str(info.value)


def test_managed_identity_app_service_flavour(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Request] = []

    def identity(request: Request) -> Response:
        seen.append(request)
        return reply({"access_token": "mi-token", "expires_on": str(int(time.time()) + 3600),
                      "resource": ADO_RESOURCE, "token_type": "Bearer"})

    with serve(identity) as (_, url):
        monkeypatch.setenv("IDENTITY_ENDPOINT", url + "/msi/token")
        monkeypatch.setenv("IDENTITY_HEADER", "header-secret")
        monkeypatch.delenv("IDENTITY_SERVER_THUMBPRINT", raising=False)
        monkeypatch.delenv("IMDS_ENDPOINT", raising=False)
        auth = ManagedIdentityAuth(client_id="mi-client")
        headers = _ado_call(auth)
    assert headers["Authorization"] == "Bearer mi-token"
    assert len(seen) == 1
    assert seen[0].headers["X-Identity-Header"] == "header-secret"
    assert seen[0].args["resource"] == ADO_RESOURCE and seen[0].args["client_id"] == "mi-client"
    assert "header-secret" not in repr(auth)


def test_managed_identity_error_is_auth_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(reply({"statusCode": 400, "message": "No managed identity"}, 400)) as (_, url):
        monkeypatch.setenv("IDENTITY_ENDPOINT", url + "/msi/token")
        monkeypatch.setenv("IDENTITY_HEADER", "h")
        with pytest.raises(AdoAuthError, match="managed identity"):
            ManagedIdentityAuth().headers()


def test_sign_in_page_is_an_auth_error_not_data() -> None:
    page = reply("<html><title>Sign in</title></html>", 203, content_type="text/html")
    with serve(page) as (_, url):
        client = AdoClient(url, PatAuth(SECRET))
        with pytest.raises(AdoAuthError, match="sign-in page") as info:
            client.get_work_item(1)
    assert SECRET not in str(info.value) and SECRET not in repr(client)


def test_401_json_is_an_auth_error() -> None:
    body = {"message": "TF400813: The user '' is not authorized to access this resource.",
            "typeKey": "UnauthorizedRequestException"}
    with (serve(reply(json.dumps(body), 401, {"ActivityId": "act-1"})) as (_, url),
          pytest.raises(AdoAuthError, match="TF400813") as info):
        AdoClient(url, PatAuth(SECRET)).get_work_item(1)
    assert info.value.activity_id == "act-1" and info.value.status == 401
