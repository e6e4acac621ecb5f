"""case records, the case-linking index, collective letters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as b:
        b.add_column(sa.Column("resolved_by", sa.String(length=64), nullable=True))
        b.add_column(sa.Column("first_letter", sa.String(length=32), nullable=True))
        b.add_column(sa.Column("letters", sa.Integer(), nullable=False, server_default="0"))
        b.add_column(sa.Column("first_received", sa.Date(), nullable=True))
        b.add_column(sa.Column("last_received", sa.Date(), nullable=True))
        b.add_column(sa.Column("addressees", sa.JSON(), nullable=False, server_default="[]"))
        b.add_column(sa.Column("recurrent", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.create_index("ix_cases_last_received", ["last_received"])
        b.create_index("ix_cases_recurrent", ["recurrent"])
    with op.batch_alter_table("letters") as b:
        b.add_column(sa.Column("collective", sa.Boolean(), nullable=False, server_default=sa.false()))
        b.create_index("ix_letters_deadline", ["deadline"])
    op.create_table(
        "index_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("letter_id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("organization", sa.String(length=300), nullable=True),
        sa.Column("id_number", sa.String(length=16), nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("relatives", sa.String(length=500), nullable=True),
        sa.Column("features", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("letter_id"),
    )
    op.create_index("ix_index_profiles_case_id", "index_profiles", ["case_id"])
    op.create_table(
        "index_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "profile_id"),
    )


def downgrade() -> None:
    op.drop_table("index_keys")
    op.drop_index("ix_index_profiles_case_id", table_name="index_profiles")
    op.drop_table("index_profiles")
    with op.batch_alter_table("letters") as b:
        b.drop_index("ix_letters_deadline")
        b.drop_column("collective")
    with op.batch_alter_table("cases") as b:
        b.drop_index("ix_cases_recurrent")
        b.drop_index("ix_cases_last_received")
        for c in ("recurrent", "addressees", "last_received", "first_received", "letters", "first_letter", "resolved_by"):
            b.drop_column(c)
