CREATE INDEX IF NOT EXISTS ix_fact_transactions_customer_id_merchant_id_event_ts ON fact_transactions (customer_id, merchant_id, event_ts);
CREATE INDEX IF NOT EXISTS ix_fact_transactions_card_id_device_id_event_ts ON fact_transactions (card_id, device_id, event_ts);
