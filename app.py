"""Beatline: wiring only. Routes live in chalicelib.api blueprints; logic below them."""

from chalice import Chalice

from chalicelib.api import areas, contacts, history, meta

app = Chalice(app_name="beatline")
app.register_blueprint(meta.bp)
app.register_blueprint(contacts.bp)
app.register_blueprint(areas.bp)
app.register_blueprint(history.bp)
