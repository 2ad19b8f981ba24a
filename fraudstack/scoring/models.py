"""Hot model reload: watch the registry's ``current`` pointer and load a new model off the hot path.

Why a background thread: polling is one small S3 GET, but loading a model (download, parse
the booster) takes tens of milliseconds that the scoring loop must not stall for. The loop
calls :meth:`ModelWatcher.take` at each batch boundary; that is a lock-free attribute read,
so a swap never splits a batch between two models.

:class:`ScoringModel` is a thin adapter over the model engineer's :class:`FraudModel` for the
hot loop: one thread and ``inplace_predict`` (no ``DMatrix`` per batch). On a busy 2-core
host, OpenMP's 2-thread teams stall a call for as long as the second thread waits for a CPU;
single-threaded calls stay well under a millisecond and give bit-identical scores.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import xgboost as xgb
from botocore.exceptions import BotoCoreError, ClientError

from fraudstack import aws
from fraudstack.errors import FraudstackError
from fraudstack.features.definitions import CARD_FEATURE_NAMES
from fraudstack.model import registry
from fraudstack.model.fraud_model import FraudModel, Reason
from fraudstack.observability import MetricsPublisher
from fraudstack.settings import Settings

log = logging.getLogger(__name__)


class ScoringModel:
    """A :class:`FraudModel` set up for per-batch scoring of online feature rows."""

    def __init__(self, model: FraudModel) -> None:
        self.model = model
        self.version = model.version
        self.threshold = model.threshold
        self._columns = model.online_columns
        #: Whether the model reads entity profiles (they follow the card features in a row).
        self.profiled = bool((self._columns >= len(CARD_FEATURE_NAMES)).any())
        self._names = list(model.features)
        model.booster.set_param({"nthread": 1})
        # The first prediction and explanation pay one-off set-up inside xgboost (tens of ms):
        # pay it at load, on the loading thread, rather than on the first transactions.
        blank = np.zeros((1, len(self._names)), dtype=np.float32)
        self.score(blank)
        self.reasons(blank)

    def inputs(self, rows: np.ndarray) -> np.ndarray:
        """The model's columns of online feature rows (all of ``FEATURE_NAMES``), as float32 like training."""
        return np.ascontiguousarray(rows[:, self._columns], dtype=np.float32)

    def score(self, inputs: np.ndarray) -> np.ndarray:
        """Fraud probability per row; equal to :meth:`FraudModel.score` on the same values."""
        return np.asarray(self.model.booster.inplace_predict(inputs), dtype=np.float64)

    def reasons(self, inputs: np.ndarray, top_k: int = 3) -> list[list[Reason]]:
        """TreeSHAP reason codes as :meth:`FraudModel.reasons` gives them, single-threaded."""
        matrix = xgb.DMatrix(inputs, feature_names=self._names, nthread=1)
        contribs = np.asarray(self.model.booster.predict(matrix, pred_contribs=True), dtype=np.float64)[
            :, :-1
        ]
        top = np.argsort(-contribs, axis=1, kind="stable")[:, :top_k]
        return [
            [
                Reason(self._names[j], float(inputs[i, j]), float(contribs[i, j]))
                for j in top[i]
                if contribs[i, j] > 0
            ]
            for i in range(len(inputs))
        ]


class ModelWatcher:
    """Holds the current model and swaps in a new one when the pointer moves; likewise the
    staged challenger (:func:`fraudstack.model.registry.stage`) the scorer scores in shadow."""

    def __init__(self, settings: Settings, metrics: MetricsPublisher | None = None) -> None:
        self._settings = settings
        self._metrics = metrics
        # One client for every poll: creating one per poll costs the loop's GIL 0.1-0.2 s each time.
        self._s3 = aws.client("s3", settings)
        self.model = ScoringModel(registry.load_current_model(settings))
        self._next: ScoringModel | None = None
        #: The challenger scored in shadow, or None; replaced whole by the watcher thread, so a
        #: batch reads one model or the other, never half of a swap.
        self.shadow: ScoringModel | None = None
        self._shadow_failed: str | None = None  # a staged version that failed to load
        self._poll_shadow()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        log.info("model loaded", extra={"model_version": self.model.version})

    def start(self) -> ModelWatcher:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def take(self) -> tuple[ScoringModel, bool]:
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
                version = registry.current_version(self._settings, self._s3)
                pending = self._next.version if self._next is not None else self.model.version
                if version is not None and version != pending:
                    self._next = ScoringModel(registry.load_model(self._settings, version, self._s3))
                self._poll_shadow()
            except (ClientError, BotoCoreError, FraudstackError, xgb.core.XGBoostError) as exc:
                # Keep scoring with the model in hand; the next poll tries again.
                log.warning("model registry poll failed", extra={"error": str(exc)})

    def _poll_shadow(self) -> None:
        """Load the staged challenger when it changes. A challenger that fails to load (another
        feature version, a damaged object, an unreachable registry) leaves the scorer without a
        shadow - logged, tried again only once the staged version changes - never without its
        champion."""
        try:
            staged = registry.staged_version(self._settings, self._s3)
        except (ClientError, BotoCoreError, FraudstackError) as exc:
            log.warning("staged challenger poll failed", extra={"error": str(exc)})
            return
        held = None if self.shadow is None else self.shadow.version
        if staged in (held, self._shadow_failed):
            return
        try:
            loaded = (
                None
                if staged is None
                else ScoringModel(registry.load_model(self._settings, staged, self._s3))
            )
        except Exception as exc:
            log.error(
                "staged challenger not loaded: no shadow scoring",
                extra={"model_version": staged, "error": str(exc)},
            )
            self._shadow_failed, self.shadow = staged, None
            return
        self.shadow, self._shadow_failed = loaded, None
        log.info("shadow model", extra={"from_version": held, "model_version": staged})
