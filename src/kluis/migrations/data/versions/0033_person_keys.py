"""Personal data keyed on the person (issue 20, R-VLT-1, R-VLT-2), so the tables can be spread over the nodes of a
distributed PostgreSQL by person (docs/architecture.md, "Keyed on the person"):

- every table of a person's data takes ``(person_id, id)`` as its key (``access_package_chunk``, which had no
  person, gets one: ``(person_id, package_id, seq)``), and a rectification names its record within the person;
- the blind index moves to ``identifier_lookup``, keyed by digest, filled from the identifiers there are;
  ``identifier`` loses its global uniqueness, and ``consent_event`` its key on ``seq`` (kept as the order);
- the queues (requests, packages, sign-in codes) lose their foreign keys into the person's tables, and a
  person's tables theirs into the requests: local tables and distributed ones do not reference each other.

Revision ID: 0033_person_keys
Revises: 0032_request_assignee
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033_person_keys"
down_revision: str | None = "0032_request_assignee"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Table -> its indexes on person_id alone, which the new key, person_id first, makes redundant.
_PERSON_KEYED = {
    "identifier": ["ix_identifier_person_id"],
    "consent_event": ["ix_consent_event_person_id"],
    "objection": ["ix_objection_person_id"],
    "restriction": ["ix_restriction_person_id"],
    "relation": ["ix_relation_person_id"],
    "disclosure": [],
    "retention_event": [],
    "party_notice": ["ix_party_notice_person_id"],
    "record": [],
}
# (table, column) -> the foreign key a queue had into the person's tables (or theirs into a queue), its
# referred table and what deleting the referred row did.
_CROSSING = {
    ("data_subject_request", "claimed_person_id"): ("person", "SET NULL"),
    ("data_subject_request", "person_id"): ("person", "SET NULL"),
    ("access_package", "person_id"): ("person", "CASCADE"),
    ("person_sign_in", "person_id"): ("person", "CASCADE"),
}


def upgrade() -> None:
    op.create_table(
        "identifier_lookup",
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("digest", "kind", "scope", name=op.f("pk_identifier_lookup")),
    )
    op.execute(
        "INSERT INTO identifier_lookup (digest, kind, scope, person_id) "
        "SELECT digest, kind, scope, person_id FROM identifier"
    )
    with op.batch_alter_table("identifier") as batch:
        batch.drop_constraint(op.f("uq_identifier_kind_scope_digest"), type_="unique")
    with op.batch_alter_table("consent_event") as batch:
        batch.drop_constraint(op.f("uq_consent_event_id"), type_="unique")
    # The rectification's reference to the record goes before the record's key changes, and comes back after.
    with op.batch_alter_table("rectification") as batch:
        batch.drop_constraint(op.f("fk_rectification_record_id_record"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_rectification_request_id_data_subject_request"), type_="foreignkey")
        batch.drop_index(op.f("ix_rectification_person_id"))
        batch.drop_index(op.f("ix_rectification_record_id"))
        batch.drop_constraint(op.f("pk_rectification"), type_="primary")
        batch.create_primary_key(op.f("pk_rectification"), ["person_id", "id"])
    for table, indexes in _PERSON_KEYED.items():
        with op.batch_alter_table(table) as batch:
            for index in indexes:
                batch.drop_index(op.f(index))
            batch.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch.create_primary_key(op.f(f"pk_{table}"), ["person_id", "id"])
    with op.batch_alter_table("rectification") as batch:
        batch.create_foreign_key(
            op.f("fk_rectification_person_id_record"),
            "record",
            ["person_id", "record_id"],
            ["person_id", "id"],
            ondelete="CASCADE",
        )
        batch.create_index("ix_rectification_person_record", ["person_id", "record_id"])
    with op.batch_alter_table("access_package_chunk") as batch:
        batch.add_column(sa.Column("person_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE access_package_chunk SET person_id = (SELECT p.person_id FROM access_package p "
        "WHERE p.id = access_package_chunk.package_id)"
    )
    with op.batch_alter_table("access_package_chunk") as batch:
        batch.alter_column("person_id", existing_type=sa.Uuid(), nullable=False)
        batch.drop_constraint(op.f("fk_access_package_chunk_package_id_access_package"), type_="foreignkey")
        batch.drop_constraint(op.f("pk_access_package_chunk"), type_="primary")
        batch.create_primary_key(op.f("pk_access_package_chunk"), ["person_id", "package_id", "seq"])
        batch.create_foreign_key(
            op.f("fk_access_package_chunk_person_id_person"), "person", ["person_id"], ["id"], ondelete="CASCADE"
        )
    for table in dict.fromkeys(t for t, _ in _CROSSING):
        with op.batch_alter_table(table) as batch:
            for (owner, column), (referred, _) in _CROSSING.items():
                if owner == table:
                    batch.drop_constraint(op.f(f"fk_{table}_{column}_{referred}"), type_="foreignkey")


def downgrade() -> None:
    for table in dict.fromkeys(t for t, _ in _CROSSING):
        with op.batch_alter_table(table) as batch:
            for (owner, column), (referred, ondelete) in _CROSSING.items():
                if owner == table:
                    batch.create_foreign_key(
                        op.f(f"fk_{table}_{column}_{referred}"), referred, [column], ["id"], ondelete=ondelete
                    )
    with op.batch_alter_table("access_package_chunk") as batch:
        batch.drop_constraint(op.f("fk_access_package_chunk_person_id_person"), type_="foreignkey")
        batch.drop_constraint(op.f("pk_access_package_chunk"), type_="primary")
        batch.create_primary_key(op.f("pk_access_package_chunk"), ["package_id", "seq"])
        batch.create_foreign_key(
            op.f("fk_access_package_chunk_package_id_access_package"),
            "access_package",
            ["package_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.drop_column("person_id")
    with op.batch_alter_table("rectification") as batch:
        batch.drop_index("ix_rectification_person_record")
        batch.drop_constraint(op.f("fk_rectification_person_id_record"), type_="foreignkey")
    for table, indexes in _PERSON_KEYED.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"pk_{table}"), type_="primary")
            batch.create_primary_key(op.f(f"pk_{table}"), ["seq" if table == "consent_event" else "id"])
            for index in indexes:
                batch.create_index(op.f(index), ["person_id"])
    with op.batch_alter_table("rectification") as batch:
        batch.drop_constraint(op.f("pk_rectification"), type_="primary")
        batch.create_primary_key(op.f("pk_rectification"), ["id"])
        batch.create_index(op.f("ix_rectification_record_id"), ["record_id"])
        batch.create_index(op.f("ix_rectification_person_id"), ["person_id"])
        batch.create_foreign_key(
            op.f("fk_rectification_request_id_data_subject_request"),
            "data_subject_request",
            ["request_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_foreign_key(
            op.f("fk_rectification_record_id_record"), "record", ["record_id"], ["id"], ondelete="CASCADE"
        )
    with op.batch_alter_table("consent_event") as batch:
        batch.create_unique_constraint(op.f("uq_consent_event_id"), ["id"])
    with op.batch_alter_table("identifier") as batch:
        batch.create_unique_constraint(op.f("uq_identifier_kind_scope_digest"), ["kind", "scope", "digest"])
    op.drop_table("identifier_lookup")
