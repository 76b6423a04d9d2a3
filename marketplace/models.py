"""Imports every model module so metadata (Alembic, create_all) sees all tables."""
from marketplace import audit  # noqa: F401
from marketplace.articles import models as article_models  # noqa: F401
from marketplace.auth import models as auth_models  # noqa: F401
from marketplace.clients import models as client_models  # noqa: F401
from marketplace.consultations import models as consultation_models  # noqa: F401
from marketplace.contact import models as contact_models  # noqa: F401
from marketplace.featured import models as featured_models  # noqa: F401
from marketplace.messaging import models as messaging_models  # noqa: F401
from marketplace.notifications import models as notification_models  # noqa: F401
from marketplace.payments import models as payment_models  # noqa: F401
from marketplace.payments import series_models  # noqa: F401
from marketplace.questions import models as question_models  # noqa: F401
from marketplace.specialists import models as specialist_models  # noqa: F401
