"""What runs in production: the prediction API (`api`), the Kafka consumer and producer, the model's life (`ml`),
ticks (`ticks`), and what they share: `settings` (the only reader of the environment) and `metrics`.

docs/services.md is the map: where a request goes, where a message goes.
"""
