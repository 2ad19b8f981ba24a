"""The analyst dashboard (the QuickSight stand-in): a Streamlit app over the warehouse.

``app.py`` is the script Streamlit runs (``fraudstack dashboard``); the modules beside it keep
the SQL (:mod:`.queries`), the filters every view shares (:mod:`.filters`), the charts
(:mod:`.charts`) and one module per view (:mod:`.views`) apart. This module imports nothing
heavy: the CLI finds the script here without loading Streamlit.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fraudstack.errors import ConfigError


def app_script() -> Path:
    """The file ``streamlit run`` is given, found through the installed package (wheel or checkout).

    Why a file path: Streamlit runs a script from disk, so a package imported from a zip
    archive (no file to hand it) is reported instead of half-working.
    """
    script = resources.files(__name__) / "app.py"
    if not isinstance(script, Path) or not script.is_file():
        raise ConfigError(f"dashboard script not on disk ({script}); install fraudstack unpacked")
    return script
