"""Alembic environment: migrations run on the service's own engine (see `labs db upgrade`)."""
from alembic import context

from labs.models import metadata

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
