"""The prediction API: `create_app` (services.api.app) builds it; `python -m services.api` serves it.

- app: the routes and the state they read;
- input: what `/predict` accepts (the fast validator and the OpenAPI schema derived from the same fields), and
  the 4xx everything else gets;
- middleware: request metrics, timing and the 499/408/503 decisions;
- server: uvicorn's HTTP protocol with the deadlines and limits it lacks;
- faults: fault injection for alert tests.
"""

from services.api.app import create_app

__all__ = ["create_app"]
