# syntax=docker/dockerfile:1
FROM python:3.11-slim AS build
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
# Dependencies first, from pyproject alone, so source edits keep this layer cached.
COPY pyproject.toml README.md ./
RUN mkdir -p bot handlers crm storage scheduler \
    && touch bot/__init__.py handlers/__init__.py crm/__init__.py storage/__init__.py scheduler/__init__.py \
    && /venv/bin/pip install . \
    && /venv/bin/pip uninstall -y telegram-crm
COPY . .
RUN /venv/bin/pip install --no-deps . \
    && /venv/bin/python -c "from pathlib import Path; from bot.i18n import ensure_compiled; ensure_compiled(Path('locales'))"

FROM python:3.11-slim
WORKDIR /app
RUN useradd --system --uid 10001 crm && mkdir -p /data && chown crm /data
COPY --from=build /venv /venv
COPY --from=build /app/locales /app/locales
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LOCALES_DIR=/app/locales \
    DATABASE_URL=sqlite+aiosqlite:////data/crm.db \
    LISTEN_HOST=0.0.0.0
USER crm
EXPOSE 8080
CMD ["crmbot", "run"]
