CREATE TABLE IF NOT EXISTS model_performance (
    model_version VARCHAR(64) NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    scored BIGINT NOT NULL,
    frauds BIGINT NOT NULL,
    flagged BIGINT NOT NULL,
    confirmed BIGINT NOT NULL,
    flag_precision DOUBLE PRECISION,
    recall_at_budget DOUBLE PRECISION,
    alert_budget DOUBLE PRECISION NOT NULL,
    average_precision DOUBLE PRECISION,
    mature BOOLEAN NOT NULL,
    labels_as_of TIMESTAMPTZ NOT NULL,
    measured_at TIMESTAMPTZ DEFAULT GETDATE() NOT NULL,
    PRIMARY KEY (model_version, window_start, window_end)
)
DISTSTYLE AUTO
SORTKEY (window_start);
