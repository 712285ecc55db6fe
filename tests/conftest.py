"""No shared fixtures at the root: each test directory's conftest.py loads the ones it needs from tests.support,
so the compiler's tests (tests/codegen) run without the services extras (Kafka, Prometheus client, MLflow)."""
