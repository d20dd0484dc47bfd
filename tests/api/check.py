"""The REST API checked as an integrator would check it, against the real `beckon` binary.

Starts the server on a fresh SQLite file with one admin, then
1. validates the document it serves at /api/openapi.json with openapi-spec-validator, and
2. runs schemathesis against it, logged in as that admin, for a bounded number of cases: every
   response must be documented (status, content type, body schema) and nothing may answer 5xx.

Run by `cargo xtask ci` with BECKON_BIN set and the packages of requirements.txt installed.
BECKON_SCHEMATHESIS_EXAMPLES (default 25) bounds the cases per operation; BECKON_SCHEMATHESIS_SEED
(default 1) makes a run repeatable.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "schemathesis admin"


def config_text(database: Path, password_hash: str) -> str:
    return f"""
listen = "127.0.0.1:0"
database = {json.dumps(str(database))}
www = {json.dumps(str(ROOT / "www"))}

[[sites]]
id = "demo"
name = "Beckon demo shop"
allowed_origins = ["http://shop.test"]
rules_dir = {json.dumps(str(ROOT / "rules/examples"))}

[[queues]]
id = "sales"
name = "Sales"

[[queues]]
id = "support"
name = "Support"

[[agents]]
username = "admin"
display_name = "API Checker"
password_hash = {json.dumps(password_hash)}
queues = ["sales", "support"]
capacity = 3
role = "admin"
"""


def log_in(origin: str) -> str:
    request = urllib.request.Request(
        f"{origin}/api/console/login",
        data=json.dumps({"username": "admin", "password": PASSWORD}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:
        cookie = answer.headers["set-cookie"]
    match = re.match(r"beckon_session=([^;]+)", cookie or "")
    if not match:
        sys.exit(f"api check: the login set no session cookie: {cookie!r}")
    return match.group(1)


def tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def main() -> int:
    binary = os.environ["BECKON_BIN"]
    examples = os.environ.get("BECKON_SCHEMATHESIS_EXAMPLES", "25")
    seed = os.environ.get("BECKON_SCHEMATHESIS_SEED", "1")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        password_hash = subprocess.run(
            [binary, "hash-password"],
            env={**os.environ, "BECKON_PASSWORD": PASSWORD},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        config = folder / "beckon.toml"
        config.write_text(config_text(folder / "beckon.sqlite3", password_hash))
        log = (folder / "server.log").open("w")
        server = subprocess.Popen(
            [binary, "serve", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            # The server prints its address once it listens; a server that dies ends the output instead.
            origin = None
            for line in server.stdout:
                found = re.match(r"beckon: listening on (http://\S+)", line)
                if found:
                    origin = found.group(1)
                    break
            if origin is None:
                log.flush()
                sys.exit(f"api check: the server did not start:\n{(folder / 'server.log').read_text()}")
            document = f"{origin}/api/openapi.json"
            served = folder / "openapi.json"
            with urllib.request.urlopen(document) as answer:
                served.write_bytes(answer.read())
            subprocess.run([tool("openapi-spec-validator"), str(served)], check=True)
            settings = folder / "schemathesis.toml"
            settings.write_text('[auth.openapi.session]\napi_key = "${BECKON_SESSION}"\n')
            result = subprocess.run(
                [
                    tool("schemathesis"),
                    "--config-file",
                    str(settings),
                    "run",
                    document,
                    "--checks",
                    "all",
                    "--max-examples",
                    examples,
                    "--seed",
                    seed,
                    "--workers",
                    "1",
                    # Logging out would end the session the rest of the run uses.
                    "--exclude-path",
                    "/api/console/logout",
                ],
                env={**os.environ, "BECKON_SESSION": log_in(origin)},
                # Its cache of crashes goes with the run, not into the checkout.
                cwd=folder,
            )
            if result.returncode != 0:
                log.flush()
                print((folder / "server.log").read_text()[-4000:], file=sys.stderr)
            return result.returncode
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
