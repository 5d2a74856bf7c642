"""The verification service: real-name authentication: ID number, identity registry, photo rules,
face matching and manual review.
"""
