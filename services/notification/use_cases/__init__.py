"""What the notification service does, one function per command or event reaction, grouped by
area: `contacts` (channel bindings), `read_models`, `notices` (messages to citizens),
`subscriptions` (integrators' webhooks) and `dispatch` (claiming due sends and recording how
they went). Use cases never commit: the route, the consumer or the dispatcher does."""
