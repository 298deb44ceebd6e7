"""Text that may end up in a message header (a name, a title): one line, no
control characters (CR and LF would let a value start a header of its own)."""

import re

from marshmallow import ValidationError

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def single_line(value):
    """A marshmallow validator: no line breaks, tabs or other control characters."""
    if isinstance(value, str) and CONTROL.search(value):
        raise ValidationError("Must be one line, without control characters")
    return True


def one_line(value):
    """The value with any control characters replaced by a space (for headers)."""
    return re.sub(r"\s+", " ", CONTROL.sub(" ", value or "")).strip()
