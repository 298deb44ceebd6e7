"""The kit's HTTP entrypoint against hostile input (issue 11): whatever a client
sends, the answer is a 4xx problem document naming what was wrong, never a 500,
and every response carries the kit's security headers. A small real service on
nameko's web server, driven over a socket."""

import http.client
import json
import logging

import pytest
import requests
from marshmallow import Schema, fields
from werkzeug.wrappers import Response

from services.common.http import MAX_BODY_BYTES, api, check_strings, json_response
from services.common.problems import Unauthorized, Unprocessable
from tests.conftest import bearer, free_port


class Item(Schema):
    note = fields.String()


class Body(Schema):
    name = fields.String(required=True)
    items = fields.List(fields.Nested(Item), load_default=list)
    extra = fields.Dict(load_default=dict)


class Query(Schema):
    q = fields.String(load_default="")


def _callback_token(request):
    if request.headers.get("Authorization") != "Bearer sekret":
        raise Unauthorized("A valid callback bearer token is required")


class KitService:
    name = "kit"

    @api("POST", "/api/v1/things", roles=("senco",), body=Body, status=201)
    def create(self, request, principal, body):
        return body

    @api("GET", "/api/v1/things/<string:thing_id>", roles=("senco",), query=Query)
    def show(self, request, principal, query, thing_id):
        return {"id": thing_id, **query}

    @api("POST", "/api/v1/callback", public=True, body=Body, guard=_callback_token,
         status=204)
    def callback(self, request, body):
        return Response(status=204)

    @api("POST", "/api/v1/upload", roles=("senco",), max_body=1000)
    def upload(self, request, principal):
        return {"bytes": len(request.stream.read())}

    @api("GET", "/api/v1/broken", roles=("senco",))
    def broken(self, request, principal):
        raise Unprocessable("Bad thing about jo@example.org", errors={"x": ["bad"]})

    @api("GET", "/page", public=True)
    def page(self, request):
        return Response("<p>hi</p>", content_type="text/html; charset=utf-8")

    @api("GET", "/json", public=True)
    def plain_json(self, request):
        return json_response({"ok": True})


@pytest.fixture
def kit(container_factory, token):
    def start(**config):
        port = free_port()
        container = container_factory(KitService, config={
            "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", **config})
        container.start()
        return f"http://127.0.0.1:{port}", port
    headers = {**bearer(token("school-1", "senco")), "Content-Type": "application/json"}
    return start, headers


def _problem(resp, status):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    return resp.json()


def test_json_nested_a_thousand_deep_is_a_422_naming_the_body(kit):
    start, headers = kit
    base, _ = start()
    deep = '{"name": "x", "extra": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}"
    body = _problem(requests.post(f"{base}/api/v1/things", data=deep, headers=headers), 422)
    assert "body" in json.dumps(body["errors"])
    arrays = '{"name": "x", "extra": {"a": ' + "[" * 100 + "]" * 100 + "}}"
    body = _problem(requests.post(f"{base}/api/v1/things", data=arrays, headers=headers), 422)
    assert "nested" in body["detail"].lower()


def test_lone_surrogates_and_nul_bytes_are_422_naming_the_field(kit):
    start, headers = kit
    base, _ = start()
    for bad in ('"\\ud800"', '"a\\u0000b"'):
        raw = '{"name": "ok", "items": [{"note": "fine"}, {"note": %s}]}' % bad
        body = _problem(requests.post(f"{base}/api/v1/things", data=raw, headers=headers), 422)
        assert list(body["errors"]) == ["items.1.note"], body
        raw = '{"name": %s}' % bad
        body = _problem(requests.post(f"{base}/api/v1/things", data=raw, headers=headers), 422)
        assert list(body["errors"]) == ["name"], body
    # in a query string and in a path value too
    body = _problem(requests.get(f"{base}/api/v1/things/a?q=%00", headers=headers), 422)
    assert list(body["errors"]) == ["q"]
    body = _problem(requests.get(f"{base}/api/v1/things/a%00b", headers=headers), 422)
    assert list(body["errors"]) == ["thing_id"]
    ok = requests.post(f"{base}/api/v1/things", json={"name": "Zoë 😀"}, headers=headers)
    assert ok.status_code == 201 and ok.json()["name"] == "Zoë 😀"


def test_a_body_over_the_limit_is_413(kit):
    start, headers = kit
    base, _ = start()
    big = json.dumps({"name": "x" * (MAX_BODY_BYTES + 10)})
    body = _problem(requests.post(f"{base}/api/v1/things", data=big, headers=headers), 413)
    assert body["status"] == 413
    # an endpoint that reads its own stream has its own, smaller limit
    resp = requests.post(f"{base}/api/v1/upload", data=b"x" * 2000, headers=headers)
    _problem(resp, 413)
    assert requests.post(f"{base}/api/v1/upload", data=b"x" * 900,
                         headers=headers).json() == {"bytes": 900}


def _chunked(port, path, chunks, headers):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", path)
    for k, v in {**headers, "Transfer-Encoding": "chunked"}.items():
        conn.putheader(k, v)
    conn.endheaders()
    for chunk in chunks:
        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    status, data = resp.status, resp.read()
    conn.close()
    return status, data


def test_a_chunked_body_is_read_and_bounded(kit):
    start, headers = kit
    base, port = start()
    status, data = _chunked(port, "/api/v1/things", [b'{"name": ', b'"chunky"}'], headers)
    assert status == 201, data
    assert json.loads(data)["name"] == "chunky"
    status, data = _chunked(port, "/api/v1/things",
                            [b'{"name": "' + b"x" * 500_000] * 3 + [b'"}'], headers)
    assert status == 413, data


def test_a_body_that_is_not_json_is_415(kit):
    start, headers = kit
    base, _ = start()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "text/csv"):
        resp = requests.post(f"{base}/api/v1/things", data='{"name": "x"}',
                             headers={**headers, "Content-Type": ctype})
        _problem(resp, 415)
    resp = requests.post(f"{base}/api/v1/things", data='{"name": "x"}',
                         headers={**headers, "Content-Type": "application/json; charset=utf-8"})
    assert resp.status_code == 201


def test_a_guard_runs_before_the_body_is_read(kit):
    start, headers = kit
    base, _ = start()
    deep = "[" * 5000 + "]" * 5000
    resp = requests.post(f"{base}/api/v1/callback", data=deep,
                         headers={"Content-Type": "application/json"})
    _problem(resp, 401)
    resp = requests.post(f"{base}/api/v1/callback", data=deep,
                         headers={"Content-Type": "application/json",
                                  "Authorization": "Bearer sekret"})
    _problem(resp, 422)


def test_every_response_has_a_csp_and_https_adds_hsts(kit):
    start, headers = kit
    base, _ = start()
    page = requests.get(f"{base}/page")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "Strict-Transport-Security" not in page.headers
    for resp in (requests.get(f"{base}/json"), requests.get(f"{base}/nowhere"),
                 requests.post(f"{base}/api/v1/things", data="{", headers=headers)):
        assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"

    secure, _ = start(PUBLIC_BASE_URL="https://portal.sen-trust.example")
    for resp in (requests.get(f"{secure}/page"), requests.get(f"{secure}/json"),
                 requests.get(f"{secure}/nowhere")):
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        assert "Content-Security-Policy" in resp.headers


def test_expected_errors_are_logged_as_one_line_without_the_detail(kit, caplog):
    start, headers = kit
    base, _ = start()
    with caplog.at_level(logging.INFO, logger="nameko.containers"):
        resp = requests.get(f"{base}/api/v1/broken", headers=headers)
    _problem(resp, 422)
    lines = [r for r in caplog.records if r.name == "nameko.containers"
             and "expected" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    record = lines[0]
    assert record.exc_info is None and record.exc_text is None
    message = record.getMessage()
    assert "\n" not in message and "jo@example.org" not in message
    assert "422" in message and "Unprocessable" in message and "kit.broken" in message


def test_check_strings_is_iterative_and_names_paths():
    with pytest.raises(Unprocessable) as exc:
        check_strings({"a": [{"b": "x\x00"}], "c": "\udfff"}, "body")
    assert set(exc.value.errors) == {"a.0.b", "c"}
    check_strings({"a": ["fine", {"b": 1}]}, "body")
