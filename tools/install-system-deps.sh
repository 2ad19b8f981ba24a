#!/usr/bin/env bash
# Installs what fraudstack needs outside the virtualenv, only when it is missing:
#   - a PostgreSQL server (the local Redshift stand-in),
#   - Java 17 (Spark / the Glue runner),
#   - Chromium (headless screenshots in the dashboard's browser tests),
#   - the s3a jars Spark needs to read s3:// on the emulator (Maven is not reachable,
#     so they come from the sagemaker-pyspark sdist on PyPI; that package itself is never installed),
#     into vendor/jars and linked into the user cache, where fraudstack.jars looks for them.
# Safe to run repeatedly; prints one line per thing it had to do.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP="${PIP:-.venv/bin/pip}"
JARS_DIR="vendor/jars"
JARS_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/fraudstack/jars"

apt_install() {
  if [ "$(id -u)" != "0" ]; then
    echo "error: missing system packages ($*); install them with: sudo apt-get install -y $*" >&2
    exit 1
  fi
  echo "installing system packages: $*"
  if [ ! -f /var/lib/apt/.fraudstack-updated ]; then
    apt-get update -qq >/dev/null && touch /var/lib/apt/.fraudstack-updated
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || command -v postgres >/dev/null || missing+=(postgresql)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v chromium >/dev/null || missing+=(chromium)  # the dashboard's browser tests
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi

if [ ! -f "$JARS_DIR/hadoop-aws-3.3.1.jar" ] || [ ! -f "$JARS_DIR/aws-java-sdk-bundle-1.11.901.jar" ]; then
  echo "fetching the hadoop-aws and AWS SDK bundle jars for Spark s3a"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$PIP" download -q --no-deps --no-binary :all: sagemaker-pyspark==1.4.5 -d "$tmp" 2>/dev/null
  mkdir -p "$JARS_DIR"
  tar -xzf "$tmp"/sagemaker_pyspark-1.4.5.tar.gz -C "$tmp" \
    sagemaker_pyspark-1.4.5/deps/jars/hadoop-aws-3.3.1.jar \
    sagemaker_pyspark-1.4.5/deps/jars/aws-java-sdk-bundle-1.11.901.jar
  mv "$tmp"/sagemaker_pyspark-1.4.5/deps/jars/*.jar "$JARS_DIR"/
fi

# The package reads the jars from the user cache (fraudstack.jars): link this checkout's there
# (a copy where the cache is on another file system), so nothing downloads them again.
mkdir -p "$JARS_CACHE"
for jar in hadoop-aws-3.3.1.jar aws-java-sdk-bundle-1.11.901.jar; do
  [ -f "$JARS_CACHE/$jar" ] || cp -l "$JARS_DIR/$jar" "$JARS_CACHE/" 2>/dev/null || cp "$JARS_DIR/$jar" "$JARS_CACHE/"
done
