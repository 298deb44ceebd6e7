"""The SMTP journal (issue 17): what the server accepted survives a kill, so a
lapsed lease is recorded as delivered instead of being sent again."""

from types import SimpleNamespace

from services.notify.adapters import Mailer, journal
from services.notify.config import NotifyConfig


def test_an_accepted_delivery_is_known_after_a_restart(tmp_path):
    path = tmp_path / "j" / "smtp.journal"
    first = journal.Journal(path)
    first.accepted("d-1")
    # a new process (the old one was killed: nothing flushed or closed)
    again = journal.Journal(path)
    assert again.was_accepted("d-1") and not again.was_accepted("d-2")


def test_the_channel_asks_the_journal_before_sending_again(tmp_path):
    config = NotifyConfig(notify_smtp_journal=str(tmp_path / "smtp.journal"))
    mailer = Mailer()
    mailer.journal(config).accepted("d-9")
    channel = Mailer().smtp  # another mailer (a restarted process) reads the same file
    assert channel.already_sent(SimpleNamespace(id="d-9"), config) == "journal"
    assert channel.already_sent(SimpleNamespace(id="d-8"), config) is None
    off = NotifyConfig(notify_smtp_journal="off")
    assert Mailer().smtp.already_sent(SimpleNamespace(id="d-9"), off) is None


def test_the_journal_is_compacted(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "KEEP", 10)
    path = tmp_path / "smtp.journal"
    path.write_text("".join(f"d-{i}\n" for i in range(30)))
    j = journal.Journal(path)
    assert j.was_accepted("d-29") and not j.was_accepted("d-0")
    assert len(path.read_text().split()) == 5


def test_an_unwritable_journal_does_not_stop_sending(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    j = journal.Journal(blocker / "sub" / "smtp.journal")
    j.accepted("d-1")  # logged, not raised
    assert not j.was_accepted("d-1") and j.broken
