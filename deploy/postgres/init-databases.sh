#!/usr/bin/env bash
# Runs once, when the PostgreSQL volume is new: one database and one user per service, each
# user owning only its own database (no service can read another's tables).
set -euo pipefail
for service in registration application verification printing notification; do
  variable="POSTGRES_PASSWORD_${service^^}"
  password="${!variable:?$variable must be set}"
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE USER ${service} WITH PASSWORD '${password}';
CREATE DATABASE ${service} OWNER ${service};
REVOKE ALL ON DATABASE ${service} FROM PUBLIC;
SQL
done
