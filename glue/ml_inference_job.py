"""Glue ML inference job: score what is not yet scored, with reason codes.

Entry point only: the logic and its tests live in :mod:`fraudstack.jobs.inference`.
"""

from fraudstack.jobs.inference import main

if __name__ == "__main__":
    main()
