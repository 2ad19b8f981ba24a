CREATE TABLE IF NOT EXISTS fact_labels (
    transaction_id VARCHAR(64) NOT NULL,
    source VARCHAR(16) NOT NULL CHECK (source IN ('chargeback', 'analyst', 'rule')),
    is_fraud BOOLEAN NOT NULL,
    known_at TIMESTAMPTZ NOT NULL,
    loaded_at TIMESTAMPTZ DEFAULT now() NOT NULL,
    PRIMARY KEY (transaction_id, source)
);

CREATE INDEX IF NOT EXISTS ix_fact_labels_known_at ON fact_labels (known_at);
