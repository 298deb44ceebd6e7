import logging

import yaml

from services.common.logredact import RedactPasswords, redact
from tests.conftest import ROOT


def test_every_password_of_a_broker_list_is_hidden():
    uri = ("amqp://sen:s3cret@node-1:5672/%2F;amqp://sen:s3cret@node-2:5672/%2F;"
           "amqp://sen:********@node-3:5672/%2F")
    out = redact(f"Error connecting to broker at {uri} (refused)")
    assert "s3cret" not in out
    assert out.count("sen:********@") == 3 and "node-2:5672" in out


def test_the_filter_rewrites_the_record_and_config_yml_uses_it():
    record = logging.LogRecord("nameko", logging.WARNING, __file__, 1,
                               "Error connecting to broker at %s", ("amqp://u:pw@h;amqp://u:pw@k",),
                               None)
    assert RedactPasswords().filter(record)
    assert "pw" not in record.getMessage()
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    assert "redact" in config["LOGGING"]["handlers"]["console"]["filters"]
