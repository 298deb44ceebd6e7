"""A logging filter that hides passwords in URLs (`scheme://user:secret@host`).

nameko masks the password of AMQP_URI in its connection errors, but only the
first one when AMQP_URI lists several brokers (`amqp://u:p@a;amqp://u:p@b`), so
the others would reach the logs. config.yml puts this filter on the handler."""

import logging
import re

_URL_PASSWORD = re.compile(r"(\w+://[^:/@\s;]*:)[^@\s;]+@")


def redact(text):
    return _URL_PASSWORD.sub(r"\1********@", text)


class RedactPasswords(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
