"""The local OpenID provider (services/portal/oidc/server.mjs, npm oidc-provider)
for `make run` and the tests: its accounts, its command line, and the settings
the portal needs to use it. Development only: production points the portal at
the trust's own provider (OIDC_DISCOVERY_URL, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET)."""

import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "oidc"
CLIENT_ID = "sen-portal"


def ready():
    return bool(shutil.which("node")) and (HERE / "node_modules" / "oidc-provider").exists()


def demo_accounts():
    from services.cli.demo_people import DEMO_PASSWORD, PEOPLE
    return [{"email": p["email"], "name": p["name"], "password": DEMO_PASSWORD}
            for p in PEOPLE if p["sign_in"] == "oidc"]


def write_accounts(path, accounts):
    path = Path(path)
    path.write_text(json.dumps(accounts))
    path.chmod(0o600)
    return path


def command(port, portal_url, accounts_file, client_secret):
    issuer = f"http://127.0.0.1:{port}"
    return ["node", str(HERE / "server.mjs"), "--port", str(port), "--issuer", issuer,
            "--client-id", CLIENT_ID, "--client-secret", client_secret,
            "--redirect-uri", portal_url.rstrip("/") + "/sign-in/oidc/callback",
            "--accounts", str(accounts_file)]


def portal_settings(port, client_secret):
    return {"OIDC_DISCOVERY_URL": f"http://127.0.0.1:{port}/.well-known/openid-configuration",
            "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": client_secret}
