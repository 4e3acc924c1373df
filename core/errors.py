"""The errors services raise, known to every interface without importing one.

`RuleRefused`: a rule of the agreement refuses the action. The API answers 409 with its
message as `detail`; a page shows the message. "Not allowed" is Django's own
`PermissionDenied` (403), and bad input Django's `ValidationError` (400 naming the field).
"""


class RuleRefused(Exception):
    """A rule refuses the action; the message says which rule and what is still missing."""

    def __init__(self, message: str, *, rule: str | None = None):
        super().__init__(message)
        self.message = message
        # The rule's name, as the agreement or the funnel calls it (`max_callbacks`).
        self.rule = rule

    def __str__(self) -> str:
        return self.message
