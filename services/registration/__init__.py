"""The registration service: real-name citizen accounts, staff accounts and the access tokens every
other service trusts.
"""
