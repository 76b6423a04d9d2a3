"""The blueprints, where they are mounted, and the admin pages each domain adds.

Each domain package holds its blueprint (``bp``, in its ``__init__``); importing its ``views``
module adds the routes. A domain's admin pages (``admin_views.pages``) are added to the admin
blueprint here: the admin area builds on the domains, never the other way round.
"""
from __future__ import annotations

from flask import Blueprint


def BLUEPRINTS() -> list[tuple[Blueprint, str | None]]:
    import marketplace.account.views
    import marketplace.admin.views
    import marketplace.articles.views
    import marketplace.auth.views
    import marketplace.clients.views
    import marketplace.consultations.availability_views
    import marketplace.consultations.calendar_views
    import marketplace.consultations.views
    import marketplace.consultations.waitlist_views
    import marketplace.contact.views
    import marketplace.featured.views
    import marketplace.main.views
    import marketplace.messaging.views
    import marketplace.payments.series_views
    import marketplace.payments.views
    import marketplace.questions.views
    import marketplace.specialists.views
    from marketplace.consultations.admin_views import pages as consultations_admin
    from marketplace.contact.admin_views import pages as contact_admin
    from marketplace.featured.admin_views import pages as featured_admin
    from marketplace.payments.admin_views import pages as payments_admin
    from marketplace.questions.admin_views import pages as questions_admin
    from marketplace.specialists.admin_views import pages as specialists_admin

    for admin_pages in (specialists_admin, consultations_admin, featured_admin, questions_admin, contact_admin,
                        payments_admin):
        admin_pages.add_to(marketplace.admin.bp)

    return [
        (marketplace.main.bp, None),
        (marketplace.auth.bp, "/auth"),
        (marketplace.account.bp, "/account"),
        (marketplace.specialists.bp, "/specialists"),
        (marketplace.consultations.bp, None),  # /specialists/<slug>/book, /specialists/me/availability, /consultations/…
        (marketplace.messaging.bp, "/messages"),
        (marketplace.questions.bp, "/questions"),
        (marketplace.articles.bp, "/articles"),
        (marketplace.contact.bp, "/contact"),
        (marketplace.admin.bp, "/admin"),
        (marketplace.featured.bp, None),  # /campaign (its admin pages are under /admin)
        (marketplace.payments.bp, "/payments"),
        (marketplace.clients.bp, None),  # /specialists/me/clients…
    ]
