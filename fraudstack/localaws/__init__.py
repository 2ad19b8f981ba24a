"""fraudstack's local compute extensions for the AWS emulator (moto server).

moto records Lambda functions, Glue job runs and Firehose delivery streams but never runs
anything. These extensions make the emulator do the real work so the pipeline behaves as on
AWS: Lambda ``Invoke`` runs the handler from the uploaded zip (:mod:`.lambda_runtime`), Glue
``StartJobRun`` runs the uploaded script (:mod:`.glue_runner`), Step Functions executes
definitions, and Firehose delivers from a Kinesis source with buffering
(:mod:`.firehose_delivery`). Every touch of moto internals is in :mod:`.patches`; the
entry point is ``python -m fraudstack.localaws.server``.
"""
