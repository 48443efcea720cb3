"""``python -m dolisa.desk``: serve the desk with uvicorn (see scripts/desk.sh)."""

from __future__ import annotations

import argparse
import os
import sys

TRUSTED_PROXIES_ENV = "DOLISA_DESK_TRUSTED_PROXIES"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="dolisa-desk", description="The reporting team's desk (read-only web page)")
    ap.add_argument("--host", default=os.environ.get("DOLISA_DESK_HOST", "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("DOLISA_DESK_PORT", "8800")))
    ap.add_argument(
        "--trusted-proxies",
        default=os.environ.get(TRUSTED_PROXIES_ENV, ""),
        help="comma-separated addresses of the reverse proxy in front of the desk, whose "
        "X-Forwarded-For/-Proto are believed (default: none, every client is its TCP peer)",
    )
    args = ap.parse_args(argv)

    import uvicorn

    from dolisa.desk.app import create_app
    from dolisa.desk.auth import PASSWORD_ENV, SESSION_KEY_ENV
    from dolisa.settings import paths, restricted

    restricted()  # the secret store files it creates are owner-only
    for name in (PASSWORD_ENV, SESSION_KEY_ENV):
        if "CHANGE_ME" in os.environ.get(name, ""):
            print(f"desk: {name} still has the placeholder of .env.example", file=sys.stderr)
            return 2
    app = create_app()
    try:
        app.state.auth.password()  # first use: created in the secret store unless given
    except OSError as exc:
        print(f"desk: no {PASSWORD_ENV} and cannot create the password file ({exc})", file=sys.stderr)
        return 2
    home = paths().home
    where = "env DOLISA_DESK_PASSWORD" if os.environ.get(PASSWORD_ENV) else f"{home / 'secrets' / 'desk_password'}"
    print(f"desk: http://{args.host}:{args.port}/  (DOLISA_HOME {home}; password: {where})", flush=True)
    # Forwarded headers only from the proxy: anyone else could pick the address the login
    # throttle counts, or claim https. Without a proxy the client is the TCP peer.
    proxies = [a.strip() for a in args.trusted_proxies.split(",") if a.strip()]
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
