"""Reliable messaging over RabbitMQ: CloudEvents envelope, topology, transactional outbox and
relay, and a consumer runner with an inbox, delayed retries and a dead-letter queue."""
