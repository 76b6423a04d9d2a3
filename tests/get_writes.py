"""Every test request checks the rule ``extensions.RequestSession`` relies on: a GET writes only
through a view marked ``database.writes_on_get``. On PostgreSQL the GETs of every other view run in
autocommit (no BEGIN/COMMIT round trips); a write there would not be atomic with the next, so the
whole suite refuses it."""
from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from marketplace.extensions import READS_ONLY

WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")


class WriteOnReadingGet(AssertionError):
    pass


def _refuse_writes(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    if (has_request_context() and g.get(READS_ONLY)
            and conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
            and statement.lstrip().upper().startswith(WRITES)):
        raise WriteOnReadingGet(f"{request.method} {request.path} writes ({statement.split()[0]} …): "
                                "mark the view with marketplace.database.writes_on_get")


def install() -> None:
    event.listen(Engine, "before_cursor_execute", _refuse_writes)
