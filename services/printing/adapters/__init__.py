"""What the bank printing service talks to beside its own database: the banks' print queues
on the broker, the key ring that signs print messages, the application service's files."""
