# syntax=docker/dockerfile:1
# One image for the compose target: the AWS emulator (moto + fraudstack's local compute
# extensions, which run Lambda handlers and Glue/Spark scripts, hence Java) and every app
# service (`fraudstack produce | bridge | score | dashboard | deploy`).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# System dependencies (Java 17, PostgreSQL tools, the Spark s3a jars) come from the same
# script `make install` runs, so the image and a developer machine cannot disagree.
COPY tools/ tools/
RUN --mount=type=cache,target=/root/.cache/pip \
    PIP=pip tools/install-system-deps.sh \
    && rm -rf /var/lib/apt/lists/*

# Editable install: the package finds vendor/jars and the job/handler sources next to it.
COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -e ".[all]"

# Run as an unprivileged user; its state directory is the only place it writes.
RUN useradd --create-home --uid 10001 fraudstack \
    && mkdir -p /var/lib/fraudstack \
    && chown fraudstack:fraudstack /var/lib/fraudstack
USER fraudstack
ENV FRAUDSTACK_STATE_DIR=/var/lib/fraudstack

CMD ["fraudstack", "--help"]
