"""The registration service's commands and queries, one module per area: each a function of a
unit of work (or, to read, a session), the dependencies and plain arguments. None commits."""
