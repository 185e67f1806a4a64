"""Flask extensions, created unbound here and bound in `create_app` (no import cycles)."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from limits.storage.memory import MemoryStorage
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class ThreadFreeMemoryStorage(MemoryStorage):
    """limits' in-process storage without its timer thread (`threadfree-memory://`).

    limits.MemoryStorage starts a `threading.Timer` whenever a counter is touched and none is
    alive, i.e. about one thread per hit under load, and its sweep races the request threads
    (a KeyError under gthread). Here expired counters are swept inline, at most once a second,
    under one lock. For several workers use Redis (RATELIMIT_STORAGE_URI or REDIS_URL): each
    process counts on its own otherwise."""

    STORAGE_SCHEME = ["threadfree-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        # The parent's attributes, without the timer it would start.
        self.storage = Counter()
        self.locks = defaultdict(threading.RLock)
        self.expirations = {}
        self.events = {}
        self.timer = _UnstartedTimer()  # type: ignore[assignment]
        self._sweep_lock = threading.Lock()
        self._next_sweep = 0.0
        super(MemoryStorage, self).__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - overrides the parent's private hook
        now = time.time()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + 1.0
            for key in list(self.events):
                with self.locks[key]:
                    events = [e for e in self.events.get(key, []) if e.expiry > now]
                    if events:
                        self.events[key] = events
                    else:
                        self.events.pop(key, None)
            for key, expiry in list(self.expirations.items()):
                if expiry <= now:
                    self.storage.pop(key, None)
                    self.expirations.pop(key, None)
        finally:
            self._sweep_lock.release()


class _UnstartedTimer:
    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def start(self) -> None:
        pass

    def is_alive(self) -> bool:
        return True

    def cancel(self) -> None:
        pass
