CREATE TABLE IF NOT EXISTS model_drift (
    model_version VARCHAR(64) NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    metric VARCHAR(64) NOT NULL,
    kind VARCHAR(16) NOT NULL CHECK (kind IN ('feature', 'score')),
    psi DOUBLE PRECISION NOT NULL,
    status VARCHAR(16) NOT NULL CHECK (status IN ('stable', 'moderate', 'broken')),
    window_rows BIGINT NOT NULL,
    measured_at TIMESTAMPTZ DEFAULT now() NOT NULL,
    PRIMARY KEY (model_version, window_start, window_end, metric)
);

CREATE INDEX IF NOT EXISTS ix_model_drift_window_start ON model_drift (window_start);
