"""Extension instances, created once and initialised inside ``create_app``."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from weakref import WeakKeyDictionary

from flask import g, has_app_context
from flask_caching import Cache
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Connection, Engine, MetaData, Table
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations (and SQLite batch mode) work.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    if TYPE_CHECKING:  # every model maps one Table (SQLAlchemy types it as any FromClause)
        __table__: ClassVar[Table]


READS_ONLY = "reads_only"  # set on ``g`` while a request that only reads is served (database.py)
_reading_engines: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def reading_engine(engine: Engine) -> Engine:
    """``engine`` in autocommit: each statement its own transaction, as PostgreSQL's READ COMMITTED
    gives each statement its own snapshot anyway (same pool; the level is reset on return)."""
    found = _reading_engines.get(engine)
    if found is None:
        found = _reading_engines.setdefault(engine, engine.execution_options(isolation_level="AUTOCOMMIT"))
    return found


class RequestSession(FlaskSQLAlchemySession):
    """A request that only reads (GET: no database write on a GET, tests/integration/
    test_request_path.py) runs its statements on PostgreSQL without BEGIN and COMMIT: a cached
    page of a logged-in person costs one round trip (the session's user) instead of three.
    SQLite keeps its transactions (no round trips to save, and a read transaction is its snapshot)."""

    def get_bind(self, mapper: Any | None = None, clause: Any | None = None,
                 bind: Engine | Connection | None = None, **kwargs: Any) -> Engine | Connection:
        found = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if (bind is None and isinstance(found, Engine) and found.dialect.name == "postgresql"
                and has_app_context() and g.get(READS_ONLY)):
            return reading_engine(found)
        return found


db = SQLAlchemy(model_class=Base, session_options={"class_": RequestSession})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
cache = Cache()
compress = Compress()

# The base class of every model. It is ``db.Model`` (built from ``Base``, plus Flask-SQLAlchemy's
# binds and ``query``); a type checker cannot take a base class from an instance attribute
# (mypy: 'Name "db.Model" is not defined'), so to it the base is the declarative ``Base``.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
