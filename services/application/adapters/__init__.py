"""What the application service talks to besides its own database: the registration service's
identity check, the sealed file store and the ID-number cipher."""
