"""The verification service's HTTP resources, one blueprint each."""

from services.verification.api.cases import blp as cases_blp
from services.verification.api.reviews import blp as reviews_blp

BLUEPRINTS: list = [reviews_blp, cases_blp]
