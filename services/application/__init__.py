"""The application service: social security card applications: outlets, photos and ID card images,
submission and progress for every channel.
"""
