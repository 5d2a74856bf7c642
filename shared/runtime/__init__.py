"""Running a service's processes: how each starts, the housekeeping threads beside a
consumer, and the health checks that prove a process alive."""
