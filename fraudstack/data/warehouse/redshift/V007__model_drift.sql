CREATE TABLE IF NOT EXISTS model_drift (
    model_version VARCHAR(64) NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    metric VARCHAR(64) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    psi DOUBLE PRECISION NOT NULL,
    status VARCHAR(16) NOT NULL,
    window_rows BIGINT NOT NULL,
    measured_at TIMESTAMPTZ DEFAULT GETDATE() NOT NULL,
    PRIMARY KEY (model_version, window_start, window_end, metric)
)
DISTSTYLE AUTO
SORTKEY (window_start);
