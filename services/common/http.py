"""HTTP entrypoints for the JSON API (docs/architecture.md, "Tenancy" and "HTTP").

    @api("POST", "/api/v1/referrals", roles={"partner_referrer"},
         body=ReferralCreateSchema, response=ReferralSchema, status=201)
    def create_referral(self, request, principal, body): ...

`api` authenticates the bearer token (401), checks the roles (403), parses the
JSON body or query string with the marshmallow schema (422 naming each field)
before the worker runs, and turns every error into problem details: never a
stack trace, never an HTML page. The same metadata builds the OpenAPI document.
"""

import base64
import hashlib
import inspect
import json
import logging
import re
import time
import traceback
from datetime import date, datetime
from functools import cache

from marshmallow import ValidationError, fields
from nameko.exceptions import IncorrectSignature
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from . import errors, idempotency, metrics, settings
from .access import Role
from .auth import authenticate, authorise
from .problems import (
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    TooLarge,
    Unprocessable,
    UnsupportedMediaType,
    flatten_errors,
    from_validation_error,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
MAX_DEPTH = 32  # JSON nesting; no schema of ours is half as deep

# Every response: no framing, no sniffing. HTML also gets a page policy (scripts,
# styles and forms from this origin only) unless the page set its own.
API_CSP = "default-src 'none'; frame-ancestors 'none'"


def page_csp(script_hashes=()):
    """The Content-Security-Policy of a server-rendered page; `script_hashes` are
    the base64 sha256 of the page's own inline scripts (fixed text, no user data)."""
    scripts = " ".join(["'self'", *(f"'sha256-{h}'" for h in script_hashes)])
    return ("default-src 'self'; script-src " + scripts + "; style-src 'self'; "
            "img-src 'self' data:; font-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S)


def inline_script_hashes(html):
    """The CSP hashes of the inline scripts of a page rendered from fixed text (a
    layout rendered without user data), for page_csp."""
    return [base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            for body in _INLINE_SCRIPT.findall(html)]


def secure_headers(response, https=None):
    """Add the kit's security headers to any response (pages, API, redirects)."""
    if https is None:
        https = settings.get("PUBLIC_BASE_URL", "").lower().startswith("https://")
    html = (response.mimetype or "") == "text/html"
    response.headers.setdefault("Content-Security-Policy", page_csp() if html else API_CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if https:
        response.headers.setdefault("Strict-Transport-Security",
                                    "max-age=31536000; includeSubDomains")
    return response


def json_response(payload, status=200, headers=None, content_type="application/json"):
    return Response(json.dumps(payload, default=str), status=status, headers=headers,
                    content_type=content_type)


def problem_response(problem, instance=None):
    return json_response(problem.body(instance), status=problem.status,
                         headers=problem.headers, content_type="application/problem+json")


def read_body(request, limit=MAX_BODY_BYTES):
    """The raw body, at most `limit` bytes (413 past it, whether the client sent a
    Content-Length or a chunked body)."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"The body is larger than {limit} bytes")
    request.max_content_length = limit + 1  # a chunked body stops one byte past it
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raw = None
    if raw is None or len(raw) > limit:
        raise TooLarge(f"The body is larger than {limit} bytes")
    return raw


def is_json(mimetype):
    return mimetype in ("", "application/json") or (
        mimetype.startswith("application/") and mimetype.endswith("+json"))


class OneLineExpected(logging.Filter):
    """nameko logs an entrypoint's expected exception (a 4xx problem) with its whole
    traceback and message. Keep one line: the entrypoint, the class and the status;
    never the detail, which may quote what the caller sent."""

    def filter(self, record):
        if record.msg == "(expected) error handling worker %s: %s" and record.args:
            worker_ctx, exc = record.args
            entrypoint = getattr(worker_ctx, "entrypoint", None)
            where = (f"{entrypoint.container.service_name}.{entrypoint.method_name}"
                     if entrypoint is not None else "?")
            record.msg, record.args = "expected %s %s in %s", (
                getattr(exc, "status", getattr(exc, "code", "-")), type(exc).__name__, where)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


logging.getLogger("nameko.containers").addFilter(OneLineExpected())


def parse_json_body(request, limit=MAX_BODY_BYTES):
    if not is_json(request.mimetype or ""):
        raise UnsupportedMediaType("Send the body as application/json")
    raw = read_body(request, limit)
    try:
        data = json.loads(raw or b"null")
    except RecursionError:
        raise Unprocessable("The body is nested too deeply",
                            errors={"body": ["Nested too deeply"]}) from None
    except (ValueError, UnicodeDecodeError):
        raise Unprocessable("The body is not valid JSON",
                            errors={"body": ["Not valid JSON"]}) from None
    if not isinstance(data, dict):
        raise Unprocessable("The body must be a JSON object",
                            errors={"body": ["Must be a JSON object"]})
    check_strings(data, "body")
    return data


def _bad_text(value):
    """Why a string cannot be stored, or None: NUL (PostgreSQL refuses it) or a lone
    surrogate (not encodable as UTF-8)."""
    if "\x00" in value:
        return "Must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Must be valid Unicode text (no lone surrogates)"
    return None


EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)


NOT_A_BOOLEAN = "Not a valid boolean: use true or false"


def boolean_errors(schema, data, path=""):
    """A JSON body's booleans are JSON's true and false, nothing else: marshmallow's
    Boolean also takes 1, "yes", "on"… (right for query strings, not for a body).
    Walks the schema's fields (nested schemas and lists too); {dotted field: [message]}."""
    errors = {}
    if not isinstance(data, dict):
        return errors
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if key in data:
            errors.update(_field_boolean_errors(field, data[key], f"{path}{key}"))
    return errors


def _field_boolean_errors(field, value, path):
    if isinstance(field, fields.Boolean):
        ok = isinstance(value, bool) or (value is None and field.allow_none)
        return {} if ok else {path: [NOT_A_BOOLEAN]}
    if isinstance(field, fields.Nested):
        schema = field.schema
        if field.many and isinstance(value, list):
            out = {}
            for i, item in enumerate(value):
                out.update(boolean_errors(schema, item, f"{path}.{i}."))
            return out
        return boolean_errors(schema, value, f"{path}.")
    if isinstance(field, fields.List) and isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(_field_boolean_errors(field.inner, item, f"{path}.{i}"))
        return out
    return {}


@cache
def schema_instance(schema_cls, many=False):
    """One instance per schema class (and `many`): building a marshmallow schema costs
    more than loading with it, and a loaded or dumped value keeps no state in it."""
    return schema_cls(many=many) if many else schema_cls()


def load_body(schema_cls, data):
    """The kit's one way to load a JSON body: the schema, with strict booleans; every
    field's error in one 422."""
    schema = schema_instance(schema_cls)
    strict = boolean_errors(schema, data)
    try:
        body = schema.load(data)
    except ValidationError as exc:
        errors = {**flatten_errors(exc.messages), **strict}
        raise Unprocessable(f"Check these fields: {', '.join(sorted(errors))}",
                            errors=errors) from None
    if strict:
        raise Unprocessable(f"Check these fields: {', '.join(sorted(strict))}", errors=strict)
    return body


def check_dates(data, root):
    """422 naming the field for any loaded date or datetime outside 1900-2199: no
    record of ours is older, and date arithmetic near year 1 or 9999 overflows."""
    errors = {}
    stack = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, date):
            day = value.date() if isinstance(value, datetime) else value
            if not EARLIEST <= day <= LATEST:
                errors.setdefault(path or root, []).append(
                    f"Must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
        elif isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k)) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(value))
    if errors:
        names = ", ".join(sorted(errors))
        raise Unprocessable(f"Check these fields: {names}", errors=errors)


def check_strings(data, root):
    """422 naming the field for any key or string value, at any depth, that cannot be
    stored; and for JSON nested deeper than MAX_DEPTH. Runs on every body, query string
    and path value before a schema sees it, so every field of every schema is covered."""
    errors = {}
    stack = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Unprocessable("The body is nested too deeply",
                                errors={path or root: ["Nested too deeply"]})
        if isinstance(value, str):
            reason = _bad_text(value)
            if reason:
                errors.setdefault(path or root, []).append(reason)
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                if _bad_text(str(key)):
                    errors.setdefault(path or root, []).append(
                        "Field names must be valid text")
                    continue
                stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{i}" if path else str(i), depth + 1)
                         for i, item in enumerate(value))
    if errors:
        names = ", ".join(sorted(errors))
        raise Unprocessable(f"Check these fields: {names}", errors=errors)


class ProblemWsgiApp(WsgiApp):
    """nameko's WSGI app, with routing errors (404, 405) as problem details, a chunked
    body readable (eventlet ends the chunked stream; read_body bounds it) and the
    kit's security headers on every response."""

    def __init__(self, server):
        super().__init__(server)
        self.https = settings.get("PUBLIC_BASE_URL", "").lower().startswith("https://")

    def __call__(self, environ, start_response):
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            environ["wsgi.input_terminated"] = True
        try:
            provider, values = self.url_map.bind_to_environ(environ).match()
        except RequestRedirect as exc:
            response = exc.get_response(environ)
        except HTTPException as exc:
            response = problem_response(_http_problem(exc))
            if getattr(exc, "valid_methods", None):
                response.headers["Allow"] = ", ".join(exc.valid_methods)
        else:
            request = Request(environ, shallow=True)
            request.path_values = values
            try:
                response = provider.handle_request(request)
            except HTTPException as exc:
                response = exc.get_response(environ)
        return secure_headers(response, self.https)(environ, start_response)


class PlatformWebServer(WebServer):
    def get_wsgi_app(self):
        return ProblemWsgiApp(self)


def _known_role(name):
    try:
        return Role(name)
    except ValueError:
        raise ValueError(f"@api names an unknown role {name!r}: the roles are "
                         f"{', '.join(Role)} (services/common/access.py)") from None


class Api(HttpRequestHandler):
    server = PlatformWebServer()

    def __init__(self, method, url, roles=None, body=None, query=None, response=None,
                 status=200, public=False, summary=None, guard=None,
                 max_body=MAX_BODY_BYTES, many=False, optional_body=False, **kwargs):
        self.roles = frozenset(_known_role(r) for r in roles or ())
        self.guard = guard  # guard(request): a public endpoint's own check, before the body
        self.max_body = max_body
        self.many = many  # the response is a JSON array of `response` (for OpenAPI)
        self.body_schema = body
        self.optional_body = optional_body  # no body at all loads as {}
        self.query_schema = query
        self.response_schema = response
        self.status = status
        self.public = public
        self.summary = summary
        kwargs.setdefault("expected_exceptions", (Problem, errors.DomainError, ValidationError,
                                                  RequestEntityTooLarge))
        super().__init__(method, url, **kwargs)

    def setup(self):
        super().setup()
        # as getcallargs reads it: the function's own signature, not a wrapped one's
        self._signature = inspect.signature(
            getattr(self.container.service_cls, self.method_name), follow_wrapped=False)

    def check_signature(self, args, kwargs):
        """nameko's check (inspect.getcallargs, per request), with the method's
        signature read once."""
        try:
            self._signature.bind(None, *args, **kwargs)
        except TypeError as exc:
            raise IncorrectSignature(str(exc)) from None

    def get_entrypoint_parameters(self, request):
        args, kwargs = super().get_entrypoint_parameters(request)
        kwargs = dict(kwargs)
        if not self.public:
            principal = authenticate(request)
            authorise(principal, self.roles)
            kwargs["principal"] = principal
        if self.guard is not None:
            self.guard(request)
        check_strings({k: v for k, v in kwargs.items() if isinstance(v, str)}, "path")
        request.max_content_length = self.max_body + 1  # also bounds a handler's own stream
        try:
            if self.body_schema is not None:
                no_body = not (request.content_length or
                               request.headers.get("Transfer-Encoding"))
                data = {} if self.optional_body and no_body else parse_json_body(
                    request, self.max_body)
                kwargs["body"] = load_body(self.body_schema, data)
                check_dates(kwargs["body"], "body")
            if self.query_schema is not None:
                params = request.args.to_dict(flat=True)
                check_strings(params, "query")
                kwargs["query"] = schema_instance(self.query_schema).load(params)
                check_dates(kwargs["query"], "query")
        except ValidationError as exc:
            raise from_validation_error(exc) from None
        return args, kwargs

    def handle_request(self, request):
        started = time.monotonic()
        response = idempotency.before(self, request)  # a repeated Idempotency-Key's answer
        if response is None:
            response = super().handle_request(request)
            idempotency.after(self, request, response)
        service = self.container.service_name
        metrics.HTTP_REQUESTS.labels(service, request.method, self.url,
                                     str(response.status_code)).inc()
        metrics.HTTP_LATENCY.labels(service, request.method, self.url).observe(
            time.monotonic() - started)
        return response

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status, headers = self.status, None
        if isinstance(result, tuple):
            if len(result) == 3:
                status, headers, result = result
            else:
                status, result = result
        if self.response_schema is not None and result is not None:
            many = isinstance(result, list)
            result = schema_instance(self.response_schema, many).dump(result)
        return json_response(result, status=status, headers=headers)

    def response_from_exception(self, exc):
        if isinstance(exc, errors.DomainError):
            exc = problem_for(exc)
        if isinstance(exc, Problem):
            return problem_response(exc)
        if isinstance(exc, ValidationError):
            return problem_response(from_validation_error(exc))
        if isinstance(exc, HTTPException) and exc.code and exc.code < 500:
            return problem_response(_http_problem(exc))
        # An unexpected fault: log where it happened, not what the data was.
        log.error("unhandled %s in %s.%s\n%s", type(exc).__name__,
                  self.container.service_name, self.method_name,
                  "".join(traceback.format_tb(exc.__traceback__)))
        return problem_response(Problem("Something went wrong on our side"))


# The one place a domain error becomes HTTP (services/common/errors.py).
_DOMAIN_STATUS = ((errors.NotFound, NotFound), (errors.NotAllowed, Forbidden),
                  (errors.Conflict, Conflict), (errors.RuleBroken, Unprocessable))


def problem_for(exc):
    """The problem document for a domain error: its status by kind, its detail,
    and the field(s) it names as `errors`."""
    for kind, problem in _DOMAIN_STATUS:
        if isinstance(exc, kind):
            return problem(exc.detail, errors=exc.errors)
    return Unprocessable(exc.detail, errors=exc.errors)


def _http_problem(exc):
    problem = Problem(exc.description)
    problem.status, problem.title = exc.code, exc.name
    problem.slug = exc.name.lower().replace(" ", "-")
    return problem


api = Api.decorator
