"""HTTP entrypoints for the JSON API (DESIGN.md §4, §6).

    @api("POST", "/api/v1/referrals", roles={"partner_referrer"},
         body=ReferralCreateSchema, response=ReferralSchema, status=201)
    def create_referral(self, request, principal, body): ...

`api` authenticates the bearer token (401), checks the roles (403), parses the
JSON body or query string with the marshmallow schema (422 naming each field)
before the worker runs, and turns every error into problem details: never a
stack trace, never an HTML page. The same metadata builds the OpenAPI document.
"""

import json
import logging
import time
import traceback

from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from . import metrics
from .auth import authenticate, authorise
from .problems import Problem, Unprocessable, from_validation_error

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000


def json_response(payload, status=200, headers=None, content_type="application/json"):
    return Response(json.dumps(payload, default=str), status=status, headers=headers,
                    content_type=content_type)


def problem_response(problem, instance=None):
    return json_response(problem.body(instance), status=problem.status,
                         headers=problem.headers, content_type="application/problem+json")


def parse_json_body(request):
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise Unprocessable("The body is too large", errors={"body": ["Too large"]})
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Unprocessable("The body is not valid JSON",
                            errors={"body": ["Not valid JSON"]}) from None
    if not isinstance(data, dict):
        raise Unprocessable("The body must be a JSON object",
                            errors={"body": ["Must be a JSON object"]})
    return data


class ProblemWsgiApp(WsgiApp):
    """nameko's WSGI app, with routing errors (404, 405) as problem details."""

    def __call__(self, environ, start_response):
        try:
            provider, values = self.url_map.bind_to_environ(environ).match()
        except HTTPException as exc:
            response = problem_response(_http_problem(exc))
            if getattr(exc, "valid_methods", None):
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            return response(environ, start_response)
        return super().__call__(environ, start_response)


class PlatformWebServer(WebServer):
    def get_wsgi_app(self):
        return ProblemWsgiApp(self)


class Api(HttpRequestHandler):
    server = PlatformWebServer()

    def __init__(self, method, url, roles=None, body=None, query=None, response=None,
                 status=200, public=False, summary=None, optional_body=False, **kwargs):
        self.roles = frozenset(roles or ())
        self.body_schema = body
        self.optional_body = optional_body  # no body at all loads as {}
        self.query_schema = query
        self.response_schema = response
        self.status = status
        self.public = public
        self.summary = summary
        kwargs.setdefault("expected_exceptions", (Problem, ValidationError))
        super().__init__(method, url, **kwargs)

    def get_entrypoint_parameters(self, request):
        args, kwargs = super().get_entrypoint_parameters(request)
        kwargs = dict(kwargs)
        if not self.public:
            principal = authenticate(request)
            authorise(principal, self.roles)
            kwargs["principal"] = principal
        try:
            if self.body_schema is not None:
                empty = self.optional_body and not request.get_data(cache=True).strip()
                kwargs["body"] = self.body_schema().load({} if empty else parse_json_body(request))
            if self.query_schema is not None:
                kwargs["query"] = self.query_schema().load(request.args.to_dict(flat=True))
        except ValidationError as exc:
            raise from_validation_error(exc) from None
        return args, kwargs

    def handle_request(self, request):
        started = time.monotonic()
        response = super().handle_request(request)
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
            result = self.response_schema(many=many).dump(result)
        return json_response(result, status=status, headers=headers)

    def response_from_exception(self, exc):
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


def _http_problem(exc):
    problem = Problem(exc.description)
    problem.status, problem.title = exc.code, exc.name
    problem.slug = exc.name.lower().replace(" ", "-")
    return problem


api = Api.decorator
