"""The registration service's commands and queries, one module per area: each a function of a
unit of work (or, to read, a session), the dependencies and plain arguments. None commits the
unit of work it is given; the edge does. `sessions.log_in` alone also opens and commits a
transaction of its own, for the login attempt (its module says why)."""
