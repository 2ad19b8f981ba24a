"""Glue drift job: live traffic and labels against the current model, then the rollback check.

Entry point only: the logic and its tests live in :mod:`fraudstack.jobs.drift`.
"""

from fraudstack.jobs.drift import main

if __name__ == "__main__":
    main()
