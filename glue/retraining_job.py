"""Glue retraining job: one step of the retraining state machine per run (``--step``).

Entry point only: the logic and its tests live in :mod:`fraudstack.jobs.retraining`.
"""

from fraudstack.jobs.retraining import main

if __name__ == "__main__":
    main()
