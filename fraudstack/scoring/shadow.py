"""Shadow scoring: the staged challenger scores every decided transaction, off the loop, deciding nothing.

Why: the promotion gate compares challenger and champion on the same labelled rows. A
retrain's own test window is days old by the time it is released; a challenger scored in
shadow is compared on live traffic, the very transactions the champion decided, once their
labels arrive (:mod:`fraudstack.model.shadow`).

How it stays off the hot path: the loop hands each batch's feature matrix (already built),
the champion's scores and the events to a worker thread (:meth:`Shadows.submit`), which
takes the challenger's columns, scores them (XGBoost releases the GIL) and encodes one record
per transaction. The loop takes the finished batches back in order (:meth:`Shadows.results`)
and produces them to the shadow-scores topic itself, so every Kafka call stays on its thread
and the records ride on the checkpoint like decisions: before a checkpoint the loop waits for
all of them, so no offset is committed ahead of a shadow record (nothing lost; a replay after
a crash repeats some, with the same scores, which the gate drops).

A record: ``{"transaction_id", "event_time", "amount", "model_version": challenger,
"score", "champion_version", "champion_score", "scored_at"}``, keyed by transaction id.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from fraudstack.scoring.models import ScoringModel
from fraudstack.wire import WireEvent

#: Batches whose shadow scores may be pending before the loop waits for the oldest.
BACKLOG = 8

Records = list[tuple[bytes, bytes]]


class Shadows:
    """One worker thread scoring batches with the challenger, results in submission order."""

    def __init__(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shadow")
        self._jobs: deque[Future[Records]] = deque()

    def __len__(self) -> int:
        return len(self._jobs)

    def submit(
        self,
        shadow: ScoringModel,
        champion_version: str,
        matrix: np.ndarray,
        champion_scores: np.ndarray,
        events: Sequence[WireEvent],
        scored_at: str,
    ) -> None:
        """Score ``matrix`` (the batch's online feature rows) with ``shadow`` on the worker."""
        job = (shadow, champion_version, matrix, champion_scores, events, scored_at)
        self._jobs.append(self._worker.submit(_records, *job))

    def results(self, backlog: int) -> Iterator[Records | Exception]:
        """Finished batches' records, oldest first, waiting for the oldest while more than
        ``backlog`` are pending; a batch that failed comes back as its exception (the loop
        logs it: a challenger's failure must not stop the champion's decisions)."""
        while self._jobs and (self._jobs[0].done() or len(self._jobs) > backlog):
            future = self._jobs.popleft()
            error = future.exception()
            if error is None:
                yield future.result()
            elif isinstance(error, Exception):
                yield error
            else:
                raise error

    def close(self) -> None:
        self._worker.shutdown(wait=True)


def _records(
    shadow: ScoringModel,
    champion_version: str,
    matrix: np.ndarray,
    champion_scores: np.ndarray,
    events: Sequence[WireEvent],
    scored_at: str,
) -> Records:
    scores = shadow.score(shadow.inputs(matrix)).tolist()
    theirs = champion_scores.tolist()
    # A template rather than json.dumps per record (~3x the time): ids and times are safe text
    # by the schema (as :func:`fraudstack.scoring.decision_records.encode_decision` relies on), the
    # versions are encoded once per batch, floats spelled as the encoder spells them.
    tail = (
        f'"model_version":{json.dumps(shadow.version)},"champion_version":{json.dumps(champion_version)},'
        f'"scored_at":"{scored_at}"}}'
    )
    return [
        (
            event["transaction_id"].encode(),
            (
                f'{{"transaction_id":"{event["transaction_id"]}","event_time":"{event["event_time"]}",'
                f'"amount":{event["amount"]!r},"score":{scores[i]!r},"champion_score":{theirs[i]!r},{tail}'
            ).encode(),
        )
        for i, event in enumerate(events)
    ]
