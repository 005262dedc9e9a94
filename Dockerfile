# Tether's image (docs/deploy.md, "Containers"): built in one stage, run from a slim one as a
# non-root user, healthy when /readyz says it can serve.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN python -m venv /opt/tether \
 && /opt/tether/bin/pip install --no-cache-dir --disable-pip-version-check .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/tether --create-home tether
COPY --from=build /opt/tether /opt/tether
ENV PATH=/opt/tether/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TETHER_HOST=0.0.0.0 \
    TETHER_PORT=8000 \
    TETHER_DATA_DIR=/var/lib/tether \
    TETHER_LOG_FORMAT=json
USER tether
WORKDIR /var/lib/tether
EXPOSE 8000
# /readyz: database reachable, migrations at head, signing keys open, Redis when configured; it
# turns 503 first on SIGTERM, so an orchestrator stops routing before the process drains.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status != 200)"]
STOPSIGNAL SIGTERM
CMD ["tether", "serve"]
