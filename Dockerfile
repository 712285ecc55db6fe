# One image for every Python process of docker-compose.yml: API, consumer, producer, drift job, training job
# and the MLflow server (all from the `services` extra). Build: docker compose build (or docker build -t
# volatility-slo:local .). The command is chosen per service in docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first (cached while only the code changes), then the code.
COPY pyproject.toml README.md ./
COPY codegen ./codegen
COPY services ./services
RUN pip install ".[services]"

# An unprivileged user; /mlflow is the MLflow volume, /app/.work the local model and run directory.
RUN useradd --create-home --uid 10001 app \
    && mkdir -p /mlflow /app/.work \
    && chown -R app /mlflow /app/.work
USER app

EXPOSE 8000 8001 8002 5001
CMD ["python", "-m", "services.api"]
