# syntax=docker/dockerfile:1

# --- runtime: what the AWS target's Fargate tasks run (`docker build --target runtime`) -----
# The bridge, the scorer, the dashboard and the warehouse migration, and nothing else: no
# Java, Spark or emulator (on AWS, Glue and Lambda run those parts). tests/provisioning/aws
# checks that the extras below cover every third-party import of those commands.
FROM python:3.11.11-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The package, the dashboard app inside it, and the data files it ships (event schema, DDL, state machines).
COPY pyproject.toml README.md ./
COPY fraudstack/ fraudstack/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -e ".[kafka,warehouse,ml,dashboard]"

RUN useradd --create-home --uid 10001 fraudstack \
    && mkdir -p /var/lib/fraudstack \
    && chown fraudstack:fraudstack /var/lib/fraudstack
USER fraudstack
ENV FRAUDSTACK_STATE_DIR=/var/lib/fraudstack

CMD ["fraudstack", "--help"]

# --- full (the default, last stage): the compose target's one image -----------------------
# The AWS emulator (moto + fraudstack's local compute extensions, which run Lambda handlers
# and Glue/Spark scripts, hence Java) and every app service
# (`fraudstack produce | bridge | score | dashboard | deploy`).
FROM python:3.11.11-slim-bookworm AS full

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

COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install -e ".[all]"
# Local Spark reads the s3a jars the script above put in vendor/jars (not the build user's cache).
ENV FRAUDSTACK_SPARK_JARS_DIR=/app/vendor/jars

# Run as an unprivileged user; its state directory is the only place it writes.
RUN useradd --create-home --uid 10001 fraudstack \
    && mkdir -p /var/lib/fraudstack \
    && chown fraudstack:fraudstack /var/lib/fraudstack
USER fraudstack
ENV FRAUDSTACK_STATE_DIR=/var/lib/fraudstack

CMD ["fraudstack", "--help"]
