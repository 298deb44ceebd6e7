"""The data of every event notify emits (notification.*): the only place their
payloads are shaped. Ids, template and channel only: no addresses or text."""


def delivered(delivery):
    return {"notification_id": delivery.id, "source_event_id": delivery.source_event_id,
            "template_id": delivery.template_id, "channel": delivery.channel}


def failed(delivery, status):
    return {**delivered(delivery), "status": status}


def resend_requested(new, original):
    return {"notification_id": new.id, "resend_of": original.id,
            "template_id": original.template_id, "channel": original.channel}
