"""HTTP routers: the REST API under /api/v1 and the server-rendered web pages."""
