"""Where local Spark finds its s3a jars: a named folder, else the user cache (fetched once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fraudstack.errors import ConfigError
from fraudstack.jars import JARS, cache_dir, s3a_jars


def test_a_named_folder_without_the_jars_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Spark s3a jars missing: .*hadoop-aws") as caught:
        s3a_jars(tmp_path)
    assert "\n" not in str(caught.value)


def test_the_cache_follows_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "fraudstack" / "jars"


def test_jars_in_the_cache_are_used_as_they_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache_dir().mkdir(parents=True)
    for name in JARS:
        (cache_dir() / name).write_bytes(b"jar")
    assert s3a_jars(None) == [cache_dir() / name for name in JARS]
