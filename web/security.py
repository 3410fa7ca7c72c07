"""Security for every response: headers, CORS for the portal widget, rate limits, CSRF and the secret key.

- Headers: a CSP without inline script, no framing, no MIME sniffing, same-origin referrers.
- CORS: `/api/chat*` and `/api/feedback` answer pages of the origins in `ASSIST_WIDGET_ORIGINS` only.
- Rate limits (Flask-Limiter): `/api/chat` per conversation (`sender` of the body: kiosks behind one NAT
  address stay apart) plus a looser ceiling per client address over the whole chat API; console log-in
  attempts that fail, per address and per account name. Storage `ASSIST_RATELIMIT_STORAGE_URI`.
- CSRF (Flask-WTF) on every console form; the JSON API is exempt (no cookies, CORS-guarded).
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFProtect
from limits import parse_many

from web.errors import error_response, wants_json

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
CORS_PATHS = ("/api/chat", "/api/feedback")  # the widget's calls (and /api/chat/updates)
LIMIT_SETTINGS = ("RATELIMIT_CHAT", "RATELIMIT_IP", "RATELIMIT_LOGIN")
SECRET_KEY_BYTES = 32


def client_address() -> str:
    return request.remote_addr or "unknown"


def sender_or_address() -> str:
    """The conversation a chat request belongs to; its client address when it names none."""
    from web.api import SENDER_RE

    body = request.get_json(silent=True) if request.is_json else None
    sender = body.get("sender") if isinstance(body, dict) else request.args.get("sender")
    if isinstance(sender, str) and SENDER_RE.fullmatch(sender):
        return f"sender:{sender}"
    return f"addr:{client_address()}"


def login_name() -> str:
    return "name:" + (request.form.get("name") or "").strip().casefold()


def failed_login(response: Response) -> bool:
    """Only failed attempts count towards the log-in limits: a success redirects."""
    return response.status_code != 302


def _setting(name: str) -> Callable[[], str]:
    return lambda: str(current_app.config[name])


def check_limits(config: Any) -> None:
    """Refuse to start with a rate limit Flask-Limiter cannot read, naming the setting."""
    for name in LIMIT_SETTINGS:
        try:
            parse_many(str(config[name]))
        except ValueError:
            raise ValueError(
                f"ASSIST_{name}={config[name]!r} is not a rate limit such as '30 per minute;300 per hour'"
            ) from None


def init_limiter(app: Flask) -> Limiter:
    """One limiter per app; limits are read from the app config on every request."""
    check_limits(app.config)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # A limit store that is down (Redis restarting) must not stop the chat: fall back to memory.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "assist")
    limiter = Limiter(key_func=client_address, app=app)
    # The limits hold the limiter only weakly; the app must keep it even when limits are switched off.
    app.extensions["assist_limiter"] = limiter
    per_address = limiter.shared_limit(_setting("RATELIMIT_IP"), scope="api-address", key_func=client_address)
    per_sender = limiter.limit(_setting("RATELIMIT_CHAT"), key_func=sender_or_address, methods=["POST"])
    for endpoint in ("api.chat", "api.feedback"):
        _wrap(app, endpoint, per_sender, per_address)
    _wrap(app, "api.updates", per_address)
    by_address = limiter.limit(
        _setting("RATELIMIT_LOGIN"), key_func=client_address, methods=["POST"], deduct_when=failed_login
    )
    by_name = limiter.limit(
        _setting("RATELIMIT_LOGIN"),
        key_func=login_name,
        methods=["POST"],
        deduct_when=failed_login,
        scope="login-name",
    )
    _wrap(app, "auth.login", by_name, by_address)
    return limiter


def _wrap(app: Flask, endpoint: str, *limits: Any) -> None:
    """Put a registered view behind limits (innermost first): the limiter belongs to this app alone."""
    view: Any = app.view_functions[endpoint]
    for limit in limits:
        view = limit(view)
    app.view_functions[endpoint] = view


def widget_origins(config: Any) -> set[str]:
    raw = config.get("WIDGET_ORIGINS") or ""
    items = raw if isinstance(raw, list) else str(raw).split(",")
    return {str(item).strip().rstrip("/") for item in items if str(item).strip()}


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(CORS_PATHS):
        response.vary.add("Origin")
        origin = request.headers.get("Origin", "")
        if origin and origin in widget_origins(current_app.config):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = "600"
    return response


def secret_key(app: Flask) -> str:
    """ASSIST_SECRET_KEY, else a key generated once and kept (0600) in ASSIST_SECRET_KEY_FILE."""
    if app.config.get("SECRET_KEY"):
        return str(app.config["SECRET_KEY"])
    if app.testing:
        return secrets.token_hex(SECRET_KEY_BYTES)
    path = Path(app.config.get("SECRET_KEY_FILE") or Path(app.root_path).parent / "var" / "secret_key")
    return load_or_create_key(path)


def load_or_create_key(path: Path) -> str:
    """Read the key file, creating it first if missing; several workers starting at once agree on one key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(SECRET_KEY_BYTES))
        try:
            os.link(scratch, path)  # atomic: the first worker's key wins, the others read it
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)  # nobody but the service's user may read it
    key = path.read_text(encoding="ascii").strip()
    if len(key) < SECRET_KEY_BYTES:
        raise ValueError(f"{path}: the secret key is too short; delete the file to generate a new one")
    return key


def init_security(app: Flask, csrf_exempt: list[Any]) -> None:
    """Secret key, CSRF protection, rate limits and the headers of every response."""
    app.config["SECRET_KEY"] = secret_key(app)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the staff member's session
    csrf = CSRFProtect(app)
    for exempt in csrf_exempt:
        csrf.exempt(exempt)
    init_limiter(app)
    app.after_request(_add_headers)

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded):  # type: ignore[no-untyped-def]
        if not wants_json():
            return exc  # the console's log-in page has its own handler
        return error_response(429, "rate_limited", rate_limit_message(exc))


def rate_limit_message(exc: RateLimitExceeded) -> str:
    return f"Too many requests; please wait a moment and try again (limit: {exc.description})."
