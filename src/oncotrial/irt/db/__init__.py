"""Database layer: table models, the engine factory and transaction helpers."""

from oncotrial.irt.db.engine import make_engine, read_tx, write_tx
from oncotrial.irt.db.models import Base

__all__ = ["Base", "make_engine", "read_tx", "write_tx"]
