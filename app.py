"""Beatline: wiring only. Routes live in chalicelib.api blueprints; logic below them."""

from chalice import Chalice

from chalicelib.api import alerts, areas, contacts, conversations, history, meta, public, subscribers
from chalicelib.settings import SETTINGS

app = Chalice(app_name="beatline")
app.register_blueprint(meta.bp)
app.register_blueprint(contacts.bp)
app.register_blueprint(areas.bp)
app.register_blueprint(history.bp)
app.register_blueprint(subscribers.bp)
app.register_blueprint(alerts.bp)
app.register_blueprint(public.bp)
app.register_blueprint(conversations.bp)


# Event handlers must live in app.py (PITFALLS). The template adds ReportBatchItemFailures.
@app.on_sqs_message(queue=SETTINGS.fanout_queue_name, batch_size=10, name="fanout_worker")
def fanout_worker(event):
    from chalicelib.notify.wiring import handle_sqs_event

    return handle_sqs_event(event)


@app.schedule("rate(5 minutes)", name="housekeeping")
def housekeeping(event):
    """Releases pushes held back by quiet hours once those hours end."""
    from chalicelib.notify.wiring import release_held

    return {"released": release_held()}
