"""Balance — a marketplace for finding a therapist and booking a free consultation."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask

from config import INSTANCE_DIR, get_config, insecure_settings
from marketplace import encryption
from marketplace.uploads import SizedRequest


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Application factory: reads like a table of contents."""
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder="../templates",
        static_folder="../static",
    )
    app.request_class = SizedRequest  # per-view body limits (marketplace/uploads.py)
    app.config.from_object(get_config(config_name))
    if overrides:
        app.config.update(overrides)
    refuse_insecure_production(app)
    serve_visitor_responses(app)  # inside the proxy middleware: it keys by the scheme that forwards
    trust_proxies(app)
    os.makedirs(app.instance_path, exist_ok=True)
    encryption.init_app(app)  # the notes' keys: refused at start when malformed

    configure_logging(app)
    register_url_converters(app)
    register_extensions(app)
    register_blueprints(app)
    register_domain_hooks(app)
    register_payment_providers(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    register_jobs(app)
    return app


def refuse_insecure_production(app: Flask) -> None:
    if app.config.get("ENV_NAME") == "production" and (problems := insecure_settings(app.config)):
        raise RuntimeError("Refusing to start in production:\n- " + "\n- ".join(problems))


def serve_visitor_responses(app: Flask) -> None:
    """Pages the same for every visitor are answered again before Flask (marketplace/visitor_responses.py)."""
    from marketplace import visitor_responses

    visitor_responses.install(app)


def trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXY_COUNT`` proxies, take the client address and scheme they forward."""
    count = int(app.config.get("TRUSTED_PROXY_COUNT", 0) or 0)
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Flask's documented way to add WSGI middleware; its types declare wsgi_app a method.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def configure_logging(app: Flask) -> None:
    from marketplace.logging_setup import configure

    configure(app)


def register_url_converters(app: Flask) -> None:
    from werkzeug.routing import IntegerConverter, Map

    from marketplace.database import MAX_DATABASE_ID

    class DatabaseId(IntegerConverter):
        """``<int:…>`` limited to the database integer range: a larger id is a 404, not an overflow."""

        def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:  # noqa: A002
            kwargs.setdefault("max", MAX_DATABASE_ID)
            super().__init__(map, *args, **kwargs)

    app.url_map.converters["int"] = DatabaseId


def register_extensions(app: Flask) -> None:
    from marketplace import counters
    from marketplace.database import configure_engine_events
    from marketplace.extensions import cache, compress, csrf, db, limiter, login_manager, migrate
    from marketplace.templating import SharedPageCompression

    db.init_app(app)
    with app.app_context():
        configure_engine_events(db.engine)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
                     render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    app.config.setdefault("COMPRESS_CACHE_BACKEND", SharedPageCompression)
    app.config.setdefault("COMPRESS_CACHE_KEY", SharedPageCompression.key)
    compress.init_app(app)
    counters.init_app(app)
    login_manager.init_app(app)
    import marketplace.auth.loader  # noqa: F401  (registers the user loader)
    import marketplace.models  # noqa: F401  (every table known to metadata / Alembic)


def register_blueprints(app: Flask) -> None:
    from marketplace.blueprints import BLUEPRINTS

    for blueprint, prefix in BLUEPRINTS():
        app.register_blueprint(blueprint, url_prefix=prefix)


def register_domain_hooks(app: Flask) -> None:
    """Later domains take part in earlier ones' rules through their hooks (imports go one way)."""
    from marketplace.consultations.hooks import booking_hooks
    from marketplace.payments.services import (
        cancel_paid_session,
        move_series_charge,
        refund_missed_session,
        release_holds_before_booking,
        series_move_refusal,
        series_occurrence_not_charged,
        settle_no_show,
    )

    booking_hooks.before_booking(release_holds_before_booking)  # lapsed payment holds never refuse a booking
    booking_hooks.on_cancel(cancel_paid_session)  # a cancelled paid session is refunded per its policy
    booking_hooks.on_no_show(settle_no_show)  # a missed paid session: the no-show term of its policy
    booking_hooks.on_specialist_no_show(refund_missed_session)  # the specialist did not come: refunded in full
    booking_hooks.move_refusal(series_move_refusal)  # a declined series charge: that occurrence stays put
    booking_hooks.not_charged_yet(series_occurrence_not_charged)  # cancelling it costs nothing
    booking_hooks.after_move(move_series_charge)  # a moved occurrence is charged before its new time


def register_payment_providers(app: Flask) -> None:
    """The payment providers (``PAYMENT_PROVIDER`` picks the one new checkouts use); a new provider
    is registered here. Its checkout page's origins join the CSP ``form-action``."""
    from marketplace.payments.providers import checkout_hosts, register_provider
    from marketplace.payments.providers.stripe_provider import StripeProvider
    from marketplace.security import allow_form_action

    register_provider(app, StripeProvider())
    allow_form_action(app, checkout_hosts)


def register_jobs(app: Flask) -> None:
    """Bind every registered job (domains register them at import) to this app's queue."""
    import marketplace.messaging.responsiveness  # noqa: F401  (its periodic job)
    import marketplace.payments.tasks  # noqa: F401  (its periodic job; the other domains' come with their views)
    from marketplace.jobs import jobs

    jobs.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from marketplace.errors import register

    register(app)


def register_request_hooks(app: Flask) -> None:
    from marketplace.database import register_unit_of_work
    from marketplace.security import register_security

    register_unit_of_work(app)
    register_security(app)


def register_template_helpers(app: Flask) -> None:
    from marketplace import parts
    from marketplace.templating import register

    register(app)
    parts.register(app)  # the header's lazy parts (unread messages, requests waiting)


def register_commands(app: Flask) -> None:
    from marketplace.cli import register

    register(app)
