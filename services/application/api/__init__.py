"""The application service's HTTP resources, one blueprint each."""

from services.application.api import applications, files, outlets, progress

# Mounted under /api/v1.
BLUEPRINTS: list = [outlets.blp, applications.blp, progress.blp]
# Mounted at the root: the internal claim-check endpoint.
ROOT_BLUEPRINTS: list = [files.blp]
