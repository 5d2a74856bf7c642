"""The application service's commands and reads, one module per area: each a plain function
that an HTTP route, an event handler or a housekeeping job calls inside the transaction it owns."""
