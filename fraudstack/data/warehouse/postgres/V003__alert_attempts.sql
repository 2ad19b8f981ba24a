ALTER TABLE fraud_alerts ADD COLUMN attempts INTEGER DEFAULT 0 NOT NULL;
ALTER TABLE fraud_alerts ADD COLUMN last_error VARCHAR(1024);
ALTER TABLE fraud_alerts DROP CONSTRAINT IF EXISTS fraud_alerts_status_check;
ALTER TABLE fraud_alerts ADD CONSTRAINT fraud_alerts_status_check CHECK (status IN ('claimed', 'sent', 'failed', 'dead_lettered'));
