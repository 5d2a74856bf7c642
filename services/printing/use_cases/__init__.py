"""The bank printing service's commands and event reactions, one function each, over a unit of
work the edge (a route, a handler, `sscardctl seed`) opens and commits."""
