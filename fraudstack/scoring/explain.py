"""TreeSHAP reason codes on a worker thread, beside the scoring loop rather than inside it.

Why: exact TreeSHAP of a flagged row costs as much CPU as all the rest of a batch at a few
percent reviews (BENCHMARKS.md, "Streaming scorer"), and almost all of it runs inside
XGBoost with the GIL released (prediction, SHAP included, is thread-safe for tree boosters).
On a worker thread it runs on the second core while the loop reads and scores the next
batch, and a batch's approvals - nearly all of it - go out without waiting for the
explanations of its reviews and declines.

The loop submits each batch's flagged rows with whatever it needs to finish those decisions
(:meth:`Explainer.submit`) and takes the explained jobs back in submission order
(:meth:`Explainer.results`), waiting only when more than a few batches are behind; it
produces the decisions itself, so every Kafka and SNS call stays on the loop's thread.
Before a checkpoint it waits for all of them, so no offset is committed ahead of a decision.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

import numpy as np

from fraudstack.model.fraud_model import Reason
from fraudstack.scoring.models import ScoringModel

Job = TypeVar("Job")


class Explainer(Generic[Job]):
    """One worker thread computing :meth:`ScoringModel.reasons` for submitted jobs, in order."""

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explainer")
        self._jobs: deque[tuple[Future[list[list[Reason]]], Job]] = deque()

    def __len__(self) -> int:
        """Jobs submitted and not yet taken back."""
        return len(self._jobs)

    def submit(self, model: ScoringModel, inputs: np.ndarray, job: Job) -> None:
        """Explain the rows ``inputs`` (model inputs); ``job`` comes back with their reasons."""
        self._jobs.append((self._worker.submit(model.reasons, inputs), job))

    def results(self, backlog: int) -> Iterator[tuple[Job, list[list[Reason]] | Exception]]:
        """Explained jobs, oldest first: those already done and, while more than ``backlog`` jobs
        are left, the oldest (blocking until it is done).

        A job whose explanation raised comes back with the exception instead of its reasons:
        the loop decides what a failure means (one bad row must not take the batch down).
        """
        while self._jobs and (self._jobs[0][0].done() or len(self._jobs) > backlog):
            future, job = self._jobs.popleft()
            error = future.exception()
            if error is None:
                yield job, future.result()
            elif isinstance(error, Exception):
                yield job, error
            else:
                raise error  # KeyboardInterrupt and the like are not a row's fault

    def close(self) -> None:
        self._worker.shutdown(wait=True)
