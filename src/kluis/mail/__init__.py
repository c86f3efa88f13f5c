"""Mail: a transactional outbox, message templates rendered at send time, SMTP (docs/mail.md)."""

from kluis.mail import notices as _notices  # noqa: F401 - registers the generic account_notice
