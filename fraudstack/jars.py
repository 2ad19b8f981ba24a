"""The two jars a local Spark needs to read ``s3://`` (hadoop-aws and the AWS SDK bundle).

Why fetched here: pyspark ships no hadoop-aws, Maven is not reachable from every machine, and
a wheel install has no checkout to hold them. So they live in the user's cache folder and
are fetched on first need, from the ``sagemaker-pyspark`` sdist on PyPI (which bundles
exactly these versions; that package itself is never installed), with one progress line.
``FRAUDSTACK_SPARK_JARS_DIR`` names another folder instead (the container image uses the
one its build filled); ``tools/install-system-deps.sh`` fills a checkout's ``vendor/jars``
and links them into the cache, so a checkout never downloads them twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from fraudstack.errors import ConfigError

JARS: tuple[str, ...] = ("hadoop-aws-3.3.1.jar", "aws-java-sdk-bundle-1.11.901.jar")
_SDIST = "sagemaker-pyspark==1.4.5"
_SDIST_JARS = "sagemaker_pyspark-1.4.5/deps/jars/"


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/fraudstack/jars`` (``~/.cache/fraudstack/jars`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fraudstack" / "jars"


def s3a_jars(folder: Path | None) -> list[Path]:
    """The jars' paths in ``folder``, or in the cache folder (fetched there first if missing)."""
    where = folder or cache_dir()
    jars = [where / name for name in JARS]
    if folder is None and not all(jar.is_file() for jar in jars):
        fetch(where)
    missing = [str(jar) for jar in jars if not jar.is_file()]
    if missing:
        raise ConfigError(
            f"Spark s3a jars missing: {', '.join(missing)}; unset FRAUDSTACK_SPARK_JARS_DIR to fetch "
            "them into the user cache, or point it at a folder holding them"
        )
    return jars


def fetch(folder: Path) -> None:
    """Download the sdist and put the two jars in ``folder`` (each appears whole or not at all)."""
    print(f"fetching the Spark s3a jars into {folder} (once, about 190 MB)", file=sys.stderr, flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fraudstack-jars-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:"]
        done = subprocess.run(
            [*command, _SDIST, "--dest", tmp], capture_output=True, text=True, timeout=1800, check=False
        )
        if done.returncode != 0:
            reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ConfigError(f"could not fetch the Spark s3a jars ({_SDIST} from the index): {reason}")
        (sdist,) = Path(tmp).glob("sagemaker_pyspark-*.tar.gz")
        with tarfile.open(sdist) as archive:
            for name in JARS:
                member = archive.extractfile(_SDIST_JARS + name)
                if member is None:
                    raise ConfigError(f"{sdist.name} has no {name}")
                partial = folder / f".{name}.part"
                partial.write_bytes(member.read())
                partial.replace(folder / name)
