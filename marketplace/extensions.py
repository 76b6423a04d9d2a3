"""Extension instances, created once and initialised inside ``create_app``."""
from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from flask_caching import Cache
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, Table
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


db = SQLAlchemy(model_class=Base)
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
