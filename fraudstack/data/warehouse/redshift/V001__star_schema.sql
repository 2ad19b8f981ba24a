CREATE TABLE IF NOT EXISTS dim_date (
    date_key INTEGER NOT NULL,
    full_date DATE NOT NULL,
    year SMALLINT NOT NULL,
    quarter SMALLINT NOT NULL,
    month SMALLINT NOT NULL,
    day SMALLINT NOT NULL,
    day_of_week SMALLINT NOT NULL,
    is_weekend BOOLEAN NOT NULL,
    PRIMARY KEY (date_key)
)
DISTSTYLE ALL
SORTKEY (date_key);

CREATE TABLE IF NOT EXISTS dim_time (
    time_key SMALLINT NOT NULL,
    hour SMALLINT NOT NULL,
    minute SMALLINT NOT NULL,
    day_part VARCHAR(16) NOT NULL,
    PRIMARY KEY (time_key)
)
DISTSTYLE ALL
SORTKEY (time_key);

CREATE TABLE IF NOT EXISTS dim_customer (
    customer_id VARCHAR(64) NOT NULL,
    account_created DATE NOT NULL,
    PRIMARY KEY (customer_id)
)
DISTSTYLE KEY
DISTKEY (customer_id)
SORTKEY (customer_id);

CREATE TABLE IF NOT EXISTS dim_card (
    card_id VARCHAR(64) NOT NULL,
    card_token VARCHAR(32) NOT NULL,
    card_type VARCHAR(16) NOT NULL,
    issuing_bank VARCHAR(256) NOT NULL,
    customer_id VARCHAR(64) NOT NULL REFERENCES dim_customer(customer_id),
    PRIMARY KEY (card_id)
)
DISTSTYLE KEY
DISTKEY (card_id)
SORTKEY (card_id);

CREATE TABLE IF NOT EXISTS dim_merchant (
    merchant_id VARCHAR(64) NOT NULL,
    merchant_name VARCHAR(512) NOT NULL,
    merchant_category_code VARCHAR(4) NOT NULL,
    merchant_category VARCHAR(256) NOT NULL,
    merchant_lat DOUBLE PRECISION NOT NULL,
    merchant_lon DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (merchant_id)
)
DISTSTYLE ALL
SORTKEY (merchant_id);

CREATE TABLE IF NOT EXISTS dim_device (
    device_id VARCHAR(64) NOT NULL,
    device_os VARCHAR(16),
    PRIMARY KEY (device_id)
)
DISTSTYLE KEY
DISTKEY (device_id)
SORTKEY (device_id);

CREATE TABLE IF NOT EXISTS dim_location (
    location_key VARCHAR(264) NOT NULL,
    city VARCHAR(256) NOT NULL,
    country VARCHAR(2) NOT NULL,
    PRIMARY KEY (location_key)
)
DISTSTYLE ALL
SORTKEY (location_key);

CREATE TABLE IF NOT EXISTS fact_transactions (
    transaction_id VARCHAR(64) NOT NULL,
    event_ts TIMESTAMPTZ NOT NULL,
    date_key INTEGER NOT NULL REFERENCES dim_date(date_key),
    time_key SMALLINT NOT NULL REFERENCES dim_time(time_key),
    customer_id VARCHAR(64) NOT NULL REFERENCES dim_customer(customer_id),
    card_id VARCHAR(64) NOT NULL REFERENCES dim_card(card_id),
    merchant_id VARCHAR(64) NOT NULL REFERENCES dim_merchant(merchant_id),
    device_id VARCHAR(64) REFERENCES dim_device(device_id),
    location_key VARCHAR(264) NOT NULL REFERENCES dim_location(location_key),
    amount NUMERIC(12,2) NOT NULL,
    currency VARCHAR(3) NOT NULL,
    channel VARCHAR(8) NOT NULL,
    entry_mode VARCHAR(16) NOT NULL,
    ip_address VARCHAR(45),
    ip_is_vpn BOOLEAN,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    is_fraud BOOLEAN NOT NULL,
    fraud_type VARCHAR(32),
    analyst_label VARCHAR(16),
    analyst_labeled_at TIMESTAMPTZ,
    schema_version SMALLINT NOT NULL,
    source_object VARCHAR(1024) NOT NULL,
    etl_run_id VARCHAR(64) NOT NULL,
    loaded_at TIMESTAMPTZ DEFAULT GETDATE() NOT NULL,
    PRIMARY KEY (transaction_id)
)
DISTSTYLE KEY
DISTKEY (card_id)
SORTKEY (event_ts);

CREATE TABLE IF NOT EXISTS fraud_predictions (
    transaction_id VARCHAR(64) NOT NULL REFERENCES fact_transactions(transaction_id),
    model_version VARCHAR(64) NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    decision VARCHAR(16) NOT NULL,
    scored_at TIMESTAMPTZ NOT NULL,
    reason_codes VARCHAR(65535),
    PRIMARY KEY (transaction_id, model_version)
)
DISTSTYLE KEY
DISTKEY (transaction_id)
SORTKEY (scored_at);

CREATE TABLE IF NOT EXISTS fraud_alerts (
    alert_id BIGINT IDENTITY(1,1) NOT NULL,
    transaction_id VARCHAR(64) NOT NULL REFERENCES fact_transactions(transaction_id),
    model_version VARCHAR(64),
    status VARCHAR(16) NOT NULL,
    claimed_at TIMESTAMPTZ DEFAULT GETDATE() NOT NULL,
    sent_at TIMESTAMPTZ,
    channel VARCHAR(16),
    message_id VARCHAR(256),
    analyst_label VARCHAR(16),
    analyst_feedback VARCHAR(1024),
    labeled_at TIMESTAMPTZ,
    PRIMARY KEY (alert_id),
    UNIQUE (transaction_id)
)
DISTSTYLE KEY
DISTKEY (transaction_id)
SORTKEY (claimed_at);

CREATE TABLE IF NOT EXISTS etl_runs (
    run_id VARCHAR(64) NOT NULL,
    status VARCHAR(16) NOT NULL,
    started_at TIMESTAMPTZ DEFAULT GETDATE() NOT NULL,
    finished_at TIMESTAMPTZ,
    objects_read INTEGER,
    rows_read BIGINT,
    rows_loaded BIGINT,
    duplicates_dropped BIGINT,
    rows_quarantined BIGINT,
    PRIMARY KEY (run_id)
)
DISTSTYLE ALL
SORTKEY (started_at);

CREATE TABLE IF NOT EXISTS etl_objects (
    object_uri VARCHAR(1024) NOT NULL,
    run_id VARCHAR(64) NOT NULL REFERENCES etl_runs(run_id),
    size_bytes BIGINT NOT NULL,
    PRIMARY KEY (object_uri)
)
DISTSTYLE ALL
SORTKEY (object_uri);
