CREATE TABLE IF NOT EXISTS fact_labels (
    transaction_id VARCHAR(64) NOT NULL,
    source VARCHAR(16) NOT NULL,
    is_fraud BOOLEAN NOT NULL,
    known_at TIMESTAMPTZ NOT NULL,
    loaded_at TIMESTAMPTZ DEFAULT GETDATE() NOT NULL,
    PRIMARY KEY (transaction_id, source)
)
DISTSTYLE KEY
DISTKEY (transaction_id)
SORTKEY (known_at);
