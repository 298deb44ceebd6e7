"""What a channel raises when a send fails."""

from .. import domain


class SendFailed(Exception):
    """A send that failed, with the delivery status the failure means."""

    def __init__(self, message, code=None, status=None):
        super().__init__(message)
        self.code = code
        self.status = status or domain.classify_smtp_failure(code)
