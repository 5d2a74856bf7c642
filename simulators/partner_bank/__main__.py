"""`python -m simulators.partner_bank`: the bank and its health/control endpoint."""

from simulators.partner_bank.bank import main

main()
