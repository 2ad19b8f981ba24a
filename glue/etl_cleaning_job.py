"""Glue ETL job: raw S3 -> curated Parquet + the warehouse star schema.

Entry point only: the logic and its tests live in :mod:`fraudstack.jobs.etl`.
"""

from fraudstack.jobs.etl import main

if __name__ == "__main__":
    main()
