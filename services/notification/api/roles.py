"""Who may use the person-facing resources: anyone with an account (citizens above all; staff
bind channels too, to hear when their webhook subscription is switched off)."""

from shared.auth import ADMIN, BANK_OPERATOR, CITIZEN, INTEGRATOR, REVIEWER

PEOPLE = (CITIZEN, REVIEWER, BANK_OPERATOR, INTEGRATOR, ADMIN)
