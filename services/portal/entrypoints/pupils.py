"""A school's pupils (SENCOs and teachers), reviews due, and what parents read and
choose: their child's passport and EHC plan, and their message preferences."""

from werkzeug.utils import redirect

from services.contracts import links
from services.contracts.sen import SEN_PROVISION

from .. import domain, queries, schemas
from ..adapters.services import ApiError
from ..commands import pupils as commands
from .base import page, person_page

PUPIL_FILTERS = ("year_group", "registration_group", "sen_status", "need_type", "q")


class PupilPages:
    @person_page("GET", "/pupils")
    def pupils(self, request, me):
        filters = {k: request.args.get(k) for k in PUPIL_FILTERS}
        errors = []
        try:
            result = self._api(me).get("pupils", "/api/v1/pupils", limit=100, **filters)
        except ApiError as exc:
            if exc.status != 422:
                raise
            result = {"items": []}
            errors = schemas.errors_from(exc.field_errors, {
                "year_group": "Enter a year group as a number, like 4",
                "q": "Enter at least 2 characters of a name"}, "q")
        return self._render(request, "pupils.html", me=me, title="Pupils", items=result["items"],
                            values=filters, errors=errors, sen_statuses=SEN_PROVISION)

    def _new_pupil_page(self, request, me, status=200, **context):
        return self._render(request, "pupil_new.html", status=status, me=me,
                            title="Register a pupil", current=links.path("pupils"),
                            sen_statuses=SEN_PROVISION, **context)

    @person_page("GET", "/pupils/new")
    def new_pupil(self, request, me):
        return self._new_pupil_page(request, me)

    @person_page("POST", "/pupils/new")
    def register_pupil(self, request, me):
        return self._submit(
            request, me, lambda: commands.register_pupil(self._api(me), request.form),
            lambda exc: self._new_pupil_page(request, me, status=400, errors=exc.errors,
                                             values=request.form))

    def _pupil_page(self, request, me, pupil_id, status=200, **context):
        return self._render(request, "pupil.html", status=status, me=me, title="Pupil",
                            current=links.path("pupils"),
                            **queries.pupil_view(self._api(me), me, pupil_id), **context)

    @person_page("GET", "/pupils/<string:pupil_id>")
    def pupil(self, request, me, pupil_id):
        return self._pupil_page(request, me, pupil_id, notice=request.args.get("done"))

    @person_page("GET", "/pupils/<string:pupil_id>/passport")
    def passport(self, request, me, pupil_id):
        return self._render(request, "passport.html", me=me, title="Pupil passport",
                            v=queries.published_passport(self._api(me), pupil_id),
                            name=domain.child_name(me, pupil_id), current="/")

    @person_page("GET", "/pupils/<string:pupil_id>/ehc-plan")
    def ehc_plan(self, request, me, pupil_id):
        plans = self._api(me).get("pupils", f"/api/v1/pupils/{pupil_id}/ehc-plans")
        return self._render(request, "ehc_plan.html", me=me, title="EHC plan",
                            plans=plans.get("items", []), name=domain.child_name(me, pupil_id),
                            current="/")

    @page("GET", "/pupils/<string:pupil_id>/provision")
    def pupil_provision(self, request, pupil_id):
        return redirect(links.path("pupil", pupil_id=pupil_id) + "#provision", code=303)

    @person_page("POST", "/pupils/<string:pupil_id>/<string:action>")
    def pupil_action(self, request, me, pupil_id, action):
        if action not in commands.PUPIL_ACTIONS:
            return self._not_found(request, me)
        return self._submit(
            request, me,
            lambda: commands.pupil_action(self._api(me), pupil_id, action, request.form),
            lambda exc: self._pupil_page(request, me, pupil_id, status=400, errors=exc.errors,
                                         values=request.form, form=action))

    @person_page("GET", "/reviews-due")
    def reviews_due(self, request, me):
        return self._render(request, "reviews_due.html", me=me, title="Reviews due",
                            **queries.reviews_due_view(self._api(me)))

    # -- parents ----------------------------------------------------------------------
    @person_page("GET", "/preferences")
    def preferences(self, request, me):
        return self._render(request, "preferences.html", me=me, title="Message preferences",
                            notice=request.args.get("done"),
                            **queries.preferences_view(self._api(me), me))

    @person_page("POST", "/preferences")
    def save_preferences(self, request, me):
        f = request.form
        return self._submit(
            request, me, lambda: commands.save_preferences(self._api(me), me, f),
            lambda exc: self._render(request, "preferences.html", status=400, me=me,
                                     title="Message preferences", errors=exc.errors, values=f,
                                     categories=domain.CATEGORIES, chosen=f.getlist("opt_outs"),
                                     digest=f.get("digest") == "yes"))
