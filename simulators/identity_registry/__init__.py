"""Identity registry simulator: people with name, gender, birth date, ethnicity, address and a
photo on file, looked up by resident ID number (CONTRACT §3, port 8010)."""
