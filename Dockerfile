# The userbot, headless. Settings come from the environment (docker run --env-file).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY userbot ./userbot
COPY handlers ./handlers
COPY secrets_client ./secrets_client
COPY protos ./protos
COPY secrets_service ./secrets_service
COPY backend ./backend
COPY custody ./custody
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 userbot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER userbot
WORKDIR /home/userbot
ENV CONTENT_DIR=/home/userbot/content \
    LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
ENTRYPOINT ["userbot"]
CMD ["run"]
