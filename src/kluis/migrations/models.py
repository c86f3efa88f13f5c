"""Every table, imported in one place so that Alembic sees the whole schema."""

from kluis.access import models as access_models  # noqa: F401
from kluis.audit import models as audit_models  # noqa: F401
from kluis.breaches import models as breach_models  # noqa: F401
from kluis.complaints import models as complaint_models  # noqa: F401
from kluis.consent import models as consent_models  # noqa: F401
from kluis.consent.cookies import models as cookie_models  # noqa: F401
from kluis.consent.marketing import models as marketing_models  # noqa: F401
from kluis.db import Base, KeyBase
from kluis.disclosures import models as disclosure_models  # noqa: F401
from kluis.erasure import models as erasure_models  # noqa: F401
from kluis.gate import models as gate_models  # noqa: F401
from kluis.mail import models as mail_models  # noqa: F401
from kluis.mijn import models as mijn_models  # noqa: F401
from kluis.orders import models as order_models  # noqa: F401
from kluis.policy import models as policy_models  # noqa: F401
from kluis.processors import models as processor_models  # noqa: F401
from kluis.retention import models as retention_models  # noqa: F401
from kluis.rights import models as rights_models  # noqa: F401
from kluis.staff import models as staff_models  # noqa: F401
from kluis.vault import models as vault_models  # noqa: F401

METADATA = {"data": Base.metadata, "keys": KeyBase.metadata}
