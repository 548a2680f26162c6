"""A signed-in console session for tests that compare a console page with the API."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class OwnContextClient(FlaskClient):
    """Each request in an app context of its own, as in a server (the console caches the user in `g`)."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def signed_in(app: Flask, username: str, password: str = PASSWORD) -> FlaskClient:
    """A browser-like client signed in to the console through its sign-in form."""
    app.test_client_class = OwnContextClient
    client = app.test_client()
    token = TOKEN.search(client.get("/console/login").get_data(as_text=True)).group(1)
    response = client.post(
        "/console/login", data={"csrf_token": token, "username": username, "password": password}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
