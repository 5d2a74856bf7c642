"""Identity registry simulator: people with name, gender, birth date, ethnicity, address and a
photo on file, looked up by resident ID number (docs/contract.md §3.6, port 8010)."""
