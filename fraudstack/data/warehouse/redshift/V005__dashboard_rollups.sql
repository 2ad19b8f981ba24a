CREATE TABLE IF NOT EXISTS rollup_transactions (
    date_key INTEGER NOT NULL,
    merchant_category VARCHAR(256) NOT NULL,
    card_type VARCHAR(16) NOT NULL,
    device_os VARCHAR(16) NOT NULL,
    issuing_bank VARCHAR(256) NOT NULL,
    transactions BIGINT NOT NULL,
    amount NUMERIC(18,2) NOT NULL,
    frauds BIGINT NOT NULL,
    fraud_amount NUMERIC(18,2) NOT NULL,
    alerts_sent BIGINT NOT NULL,
    PRIMARY KEY (date_key, merchant_category, card_type, device_os, issuing_bank)
)
DISTSTYLE AUTO
SORTKEY (date_key);

CREATE TABLE IF NOT EXISTS rollup_frauds (
    date_key INTEGER NOT NULL,
    merchant_category VARCHAR(256) NOT NULL,
    card_type VARCHAR(16) NOT NULL,
    device_os VARCHAR(16) NOT NULL,
    issuing_bank VARCHAR(256) NOT NULL,
    fraud_type VARCHAR(32) NOT NULL,
    frauds BIGINT NOT NULL,
    vpn_frauds BIGINT NOT NULL,
    first_pair_frauds BIGINT NOT NULL,
    new_device_frauds BIGINT NOT NULL,
    PRIMARY KEY (date_key, merchant_category, card_type, device_os, issuing_bank, fraud_type)
)
DISTSTYLE AUTO
SORTKEY (date_key);

CREATE TABLE IF NOT EXISTS rollup_predictions (
    date_key INTEGER NOT NULL,
    merchant_category VARCHAR(256) NOT NULL,
    card_type VARCHAR(16) NOT NULL,
    device_os VARCHAR(16) NOT NULL,
    issuing_bank VARCHAR(256) NOT NULL,
    model_version VARCHAR(64) NOT NULL,
    decision VARCHAR(16) NOT NULL,
    score_bin SMALLINT NOT NULL,
    is_fraud BOOLEAN NOT NULL,
    predictions BIGINT NOT NULL,
    last_scored_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (date_key, merchant_category, card_type, device_os, issuing_bank, model_version, decision, score_bin, is_fraud)
)
DISTSTYLE AUTO
SORTKEY (date_key);

CREATE TABLE IF NOT EXISTS rollup_days (
    date_key INTEGER NOT NULL,
    refreshed_at TIMESTAMPTZ NOT NULL,
    last_event_ts TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (date_key)
)
DISTSTYLE ALL
SORTKEY (date_key);
INSERT INTO rollup_transactions (date_key, merchant_category, card_type, device_os, issuing_bank, transactions, amount, frauds, fraud_amount, alerts_sent) SELECT f.date_key, m.merchant_category, c.card_type, COALESCE(d.device_os, 'card present'), c.issuing_bank, COUNT(*), SUM(f.amount), SUM(CASE WHEN ((f.analyst_label IS NULL AND f.is_fraud) OR (f.analyst_label IS NOT NULL AND f.analyst_label = 'fraud')) THEN 1 ELSE 0 END), SUM(CASE WHEN ((f.analyst_label IS NULL AND f.is_fraud) OR (f.analyst_label IS NOT NULL AND f.analyst_label = 'fraud')) THEN f.amount ELSE 0 END), SUM(CASE WHEN a.transaction_id IS NULL THEN 0 ELSE 1 END) FROM fact_transactions f JOIN dim_merchant m ON m.merchant_id = f.merchant_id JOIN dim_card c ON c.card_id = f.card_id LEFT JOIN dim_device d ON d.device_id = f.device_id LEFT JOIN fraud_alerts a ON a.transaction_id = f.transaction_id AND a.status = 'sent' AND a.sent_at < GETDATE() WHERE TRUE GROUP BY 1, 2, 3, 4, 5;
INSERT INTO rollup_frauds (date_key, merchant_category, card_type, device_os, issuing_bank, fraud_type, frauds, vpn_frauds, first_pair_frauds, new_device_frauds) SELECT f.date_key, m.merchant_category, c.card_type, COALESCE(d.device_os, 'card present'), c.issuing_bank, COALESCE(f.fraud_type, 'unlabelled'), COUNT(*), SUM(CASE WHEN f.ip_is_vpn THEN 1 ELSE 0 END), SUM(CASE WHEN fp.transaction_id IS NULL THEN 0 ELSE 1 END), SUM(CASE WHEN nd.transaction_id IS NULL THEN 0 ELSE 1 END) FROM fact_transactions f JOIN dim_merchant m ON m.merchant_id = f.merchant_id JOIN dim_card c ON c.card_id = f.card_id LEFT JOIN dim_device d ON d.device_id = f.device_id LEFT JOIN (SELECT e.transaction_id FROM fact_transactions e WHERE TRUE AND ((e.analyst_label IS NULL AND e.is_fraud) OR (e.analyst_label IS NOT NULL AND e.analyst_label = 'fraud')) AND NOT EXISTS (SELECT 1 FROM fact_transactions x WHERE x.customer_id = e.customer_id AND x.merchant_id = e.merchant_id AND x.event_ts < e.event_ts)) fp ON fp.transaction_id = f.transaction_id LEFT JOIN (SELECT e.transaction_id FROM fact_transactions e WHERE TRUE AND ((e.analyst_label IS NULL AND e.is_fraud) OR (e.analyst_label IS NOT NULL AND e.analyst_label = 'fraud')) AND e.device_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM fact_transactions x WHERE x.card_id = e.card_id AND x.device_id = e.device_id AND x.event_ts < e.event_ts)) nd ON nd.transaction_id = f.transaction_id WHERE TRUE AND ((f.analyst_label IS NULL AND f.is_fraud) OR (f.analyst_label IS NOT NULL AND f.analyst_label = 'fraud')) GROUP BY 1, 2, 3, 4, 5, 6;
INSERT INTO rollup_days (date_key, refreshed_at, last_event_ts) SELECT f.date_key, GETDATE(), MAX(f.event_ts) FROM fact_transactions f WHERE TRUE GROUP BY f.date_key;
INSERT INTO rollup_predictions (date_key, merchant_category, card_type, device_os, issuing_bank, model_version, decision, score_bin, is_fraud, predictions, last_scored_at) SELECT f.date_key, m.merchant_category, c.card_type, COALESCE(d.device_os, 'card present'), c.issuing_bank, p.model_version, p.decision, CAST(LEAST(FLOOR(p.score * 20), 19) AS SMALLINT), ((f.analyst_label IS NULL AND f.is_fraud) OR (f.analyst_label IS NOT NULL AND f.analyst_label = 'fraud')), COUNT(*), MAX(p.scored_at) FROM fact_transactions f JOIN dim_merchant m ON m.merchant_id = f.merchant_id JOIN dim_card c ON c.card_id = f.card_id LEFT JOIN dim_device d ON d.device_id = f.device_id JOIN fraud_predictions p ON p.transaction_id = f.transaction_id WHERE TRUE GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
