"""areas path prefix index: text_pattern_ops on PostgreSQL, so scope's `path LIKE 'prefix%'` uses
an index under any collation (at a million areas a scoped query read them all: 760 ms)

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-03 13:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_areas_path_prefix', 'areas', ['path'], unique=False, postgresql_ops={'path': 'text_pattern_ops'}
    )


def downgrade():
    op.drop_index('ix_areas_path_prefix', table_name='areas')
