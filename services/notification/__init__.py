"""The notification service: tells citizens about every step on their channels and delivers signed
webhooks to integrators.
"""
