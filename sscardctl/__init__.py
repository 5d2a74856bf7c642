"""sscardctl: the operators' command-line tool (CONTRACT §1)."""
