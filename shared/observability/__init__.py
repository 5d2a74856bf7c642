"""What a running service tells its operators: JSON logs with request, correlation and event
context, and the request ids, access log, metrics and health endpoints of the web shell."""
