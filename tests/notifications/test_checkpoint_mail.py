"""The auditors' copy of a checkpoint: a Swedish mail with the signed line attached."""

import datetime as dt

from notifications.rendering import MessageFacts, render

CHECKPOINT = {
    "at": "2027-03-09T06:00:00+00:00",
    "reason": "daglig kontroll 2027-03-09",
    "last_id": 812,
    "last_hash": "ab" * 32,
    "count": 812,
    "key_id": "daec8a0b489cbdac",
    "signature": "c2lnbmF0dXI=",
}


def test_the_checkpoint_mail_names_the_head_and_how_to_check_it():
    message = render(
        MessageFacts(
            kind="checkpoint",
            recipient_name="Revisorerna",
            organisation_name="Lilla regionen",
            step=None,
            today=dt.date(2027, 3, 9),
            checkpoint=CHECKPOINT,
        )
    )
    assert message.subject == "Granskningsloggens kontrollpunkt 2027-03-09 06:00 UTC"
    assert "daglig kontroll 2027-03-09" in message.text
    for text in (message.text, message.html):
        assert "ab" * 32 in text and "812" in text and "kontrollpunkt.jsonl" in text
        assert "arshjul audit verify --checkpoints" in text
    assert "Hej Revisorerna!" in message.text and "Mina steg" not in message.text
