"""Ingestion: transactions into Kafka and from Kafka on to Kinesis (docs/ingestion.md).

- :mod:`fraudstack.ingestion.producer` - the transaction producer behind ``fraudstack produce``;
- :mod:`fraudstack.ingestion.bridge` - the Kafka -> Kinesis bridge behind ``fraudstack bridge``,
  with :mod:`fraudstack.ingestion.kinesis` batching its ``PutRecords`` calls.

The Kafka plumbing they share with the scorer (configuration, topics, dead letters) is
:mod:`fraudstack.kafka`.
"""
