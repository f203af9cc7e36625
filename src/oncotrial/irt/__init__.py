"""The randomization service (IRT): database, REST API, web pages, audit trail.

Start it with ``oncotrial irt init`` then ``oncotrial serve``; build the ASGI app
in code with :func:`oncotrial.irt.app.create_app`.
"""

from oncotrial.irt.config import Settings, normalize_db_url

__all__ = ["Settings", "normalize_db_url"]
