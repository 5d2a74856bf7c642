"""sscardctl: the operators' command-line tool (docs/contract.md §6)."""
