"""Login sessions: a random token per login, with idle and absolute expiry.

:class:`SessionStore` keeps the logged-in sessions of this server process by token (idle
expiry ``settings.SESSION_IDLE_MINUTES``, absolute ``settings.SESSION_MAX_HOURS``); logout ends
the token, so a copied token cannot be reused. :data:`SESSIONS` is the app's one store;
:class:`SessionExpired` is raised for a token that is unknown, ended or expired.

A session keeps the principal it started with, and with it the user's ``session_epoch`` at
login (:attr:`~gridmap.auth.roles.Principal.session_epoch`).
:func:`gridmap.auth.logins.session_principal` compares it with the epoch stored in the database
on every use, so a password change or reset, a change of role or scope or disabling ends the
session even when another process (the CLI) made it; :meth:`SessionStore.end_user` ends them
at once in this process.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
import zoneinfo
from dataclasses import dataclass, field

from gridmap import settings
from gridmap.auth.roles import Principal
from gridmap.errors import PermissionDenied


def current_time() -> dt.datetime:
    """The street's local time now (naive, :data:`gridmap.settings.LOCAL_TIMEZONE`), to the
    second: session, audit and plan timestamps, on the same clock as the request timeline
    whatever the server's own time zone."""
    now = dt.datetime.now(zoneinfo.ZoneInfo(settings.LOCAL_TIMEZONE))
    return now.replace(tzinfo=None, microsecond=0)


@dataclass
class _Session:
    principal: Principal
    started: dt.datetime
    last_seen: dt.datetime
    kept: dict[str, object] = field(default_factory=dict)


class SessionExpired(PermissionDenied):
    """The session is unknown, ended by logout, or expired: log in again."""


@dataclass
class SessionStore:
    """Logged-in sessions of this server process, by random token.

    A token lives until logout (:meth:`end`), ``idle_minutes`` without use, or ``max_hours``
    after login, whichever comes first. Only the token travels to the browser session; an
    ended token is forgotten, so presenting it again is refused.

    A token reaches the browser's cookie by a hand-off code (:meth:`hand_off`,
    :meth:`redeem`): random, used once, valid ``HANDOFF_SECONDS`` — so the token itself never
    appears in a page, a URL or a log.
    """

    idle_minutes: float = field(default_factory=lambda: settings.SESSION_IDLE_MINUTES)
    max_hours: float = field(default_factory=lambda: settings.SESSION_MAX_HOURS)
    _sessions: dict[str, _Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _handoffs: dict[str, tuple[str, dt.datetime]] = field(default_factory=dict)

    def hand_off(self, token: str, now: dt.datetime | None = None) -> str:
        """A one-time code that :meth:`redeem` exchanges for ``token`` (within
        ``settings.SESSION_HANDOFF_SECONDS``)."""
        now = now or current_time()
        code = secrets.token_urlsafe(32)
        with self._lock:
            limit = dt.timedelta(seconds=settings.SESSION_HANDOFF_SECONDS)
            for old in [c for c, (_, at) in self._handoffs.items() if now - at > limit]:
                del self._handoffs[old]
            self._handoffs[code] = (str(token), now)
        return code

    def redeem(self, code: str | None, now: dt.datetime | None = None) -> str | None:
        """The token a hand-off ``code`` stands for, once; None for an unknown, used or
        expired code, or a token no longer live."""
        now = now or current_time()
        with self._lock:
            found = self._handoffs.pop(str(code), None) if code else None
            if found is None:
                return None
            token, at = found
            if now - at > dt.timedelta(seconds=settings.SESSION_HANDOFF_SECONDS):
                return None
            return token if token in self._sessions else None

    def start(self, principal: Principal, now: dt.datetime | None = None) -> str:
        now = now or current_time()
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[token] = _Session(principal, now, now)
        return token

    def get(self, token: str | None, now: dt.datetime | None = None) -> Principal:
        """The principal of a live session (and mark it used); SessionExpired otherwise."""
        now = now or current_time()
        with self._lock:
            found = None
            for known, session in self._sessions.items():
                if token and hmac.compare_digest(known, str(token)):
                    found = (known, session)
            if found is None:
                raise SessionExpired("请登录 / please log in")
            known, session = found
            idle = now - session.last_seen > dt.timedelta(minutes=self.idle_minutes)
            old = now - session.started > dt.timedelta(hours=self.max_hours)
            if idle or old:
                del self._sessions[known]
                raise SessionExpired("登录已过期,请重新登录 / the session expired: log in again")
            session.last_seen = now
            return session.principal

    def kept(self, token: str | None) -> dict[str, object]:
        """A copy of the settings the session keeps (language, base map, community …), so
        that a reload of the page, which starts a new browser session on the same login,
        opens as the user left it; empty for an unknown token."""
        with self._lock:
            session = self._sessions.get(str(token)) if token else None
            return dict(session.kept) if session is not None else {}

    def keep(self, token: str | None, key: str, value: object) -> None:
        """Keep the setting ``key`` for the session of ``token`` (ignored for an unknown
        token); it ends with the session."""
        with self._lock:
            session = self._sessions.get(str(token)) if token else None
            if session is not None:
                session.kept[str(key)] = value

    def end(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(str(token), None)

    def end_user(self, user_id: int) -> None:
        """End every session of a user (disabled, or password reset)."""
        with self._lock:
            for token in [t for t, s in self._sessions.items() if s.principal.user_id == user_id]:
                del self._sessions[token]


#: The app's sessions (one server process).
SESSIONS = SessionStore()
