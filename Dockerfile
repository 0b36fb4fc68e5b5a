# One image, every role: `vigie serve`, `vigie worker`, `vigie discord`, `vigie run`.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 vigie
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
WORKDIR /app
COPY rules ./rules
ENV VIGIE_DATA_DIR=/app/data \
    VIGIE_RULES_DIR=/app/rules \
    VIGIE_HTTP__HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
RUN mkdir -p /app/data && chown vigie /app/data
USER vigie
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)" || exit 1
ENTRYPOINT ["vigie"]
CMD ["run"]
