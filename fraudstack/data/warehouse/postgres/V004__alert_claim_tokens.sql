ALTER TABLE fraud_alerts ADD COLUMN claim_token VARCHAR(32);
