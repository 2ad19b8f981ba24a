"""Hot model reload: watch the registry's ``current`` pointer and load a new model off the hot path.

Why a background thread: polling is one small S3 GET, but loading a model (download, parse
the booster) takes tens of milliseconds that the scoring loop must not stall for. The loop
calls :meth:`ModelWatcher.take` at each batch boundary; that is a lock-free attribute read,
so a swap never splits a batch between two models.
"""

from __future__ import annotations

import logging
import threading

from botocore.exceptions import BotoCoreError, ClientError

from fraudstack.errors import FraudstackError
from fraudstack.model import registry
from fraudstack.model.scoring import FraudModel
from fraudstack.observability import MetricsPublisher
from fraudstack.settings import Settings

log = logging.getLogger(__name__)


class ModelWatcher:
    """Holds the current model and swaps in a new one when the pointer moves."""

    def __init__(self, settings: Settings, metrics: MetricsPublisher | None = None) -> None:
        self._settings = settings
        self._metrics = metrics
        self.model: FraudModel = registry.load_current_model(settings)
        self._next: FraudModel | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        log.info("model loaded", extra={"model_version": self.model.version})

    def start(self) -> ModelWatcher:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def take(self) -> tuple[FraudModel, bool]:
        """The model to score the next batch with, and whether it just changed."""
        fresh = self._next
        if fresh is None:
            return self.model, False
        self._next = None
        previous, self.model = self.model.version, fresh
        log.info("model switched", extra={"from_version": previous, "model_version": fresh.version})
        if self._metrics is not None:
            self._metrics.count("ModelSwitches")
        return fresh, True

    def _run(self) -> None:
        while not self._stop.wait(self._settings.scorer_model_poll_seconds):
            try:
                version = registry.current_version(self._settings)
                pending = self._next.version if self._next is not None else self.model.version
                if version is not None and version != pending:
                    self._next = registry.load_model(self._settings, version)
            except (ClientError, BotoCoreError, FraudstackError) as exc:
                # Keep scoring with the model in hand; the next poll tries again.
                log.warning("model registry poll failed", extra={"error": str(exc)})
