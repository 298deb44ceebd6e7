"""Referrals: a partner school's referral form (draft, check answers, confirmation)
and the outreach team's triage, referral page and agreements."""

from werkzeug.utils import redirect

from services.common.access import Role
from services.contracts import links

from .. import queries, schemas
from ..commands import referrals as commands
from .base import page, person_page

FORM_TITLE = "Make an outreach referral"


class ReferralPages:
    @person_page("GET", "/referrals")
    def referrals(self, request, me):
        result = self._api(me).get("referrals", "/api/v1/referrals",
                                   status=request.args.get("status"), limit=100)
        return self._render(request, "referrals.html", me=me, title="Referrals",
                            items=result.get("items", []), notice=request.args.get("done"),
                            partner=Role.PARTNER_REFERRER in me.roles)

    @page("GET", "/forms/referrals")
    def old_form(self, request):
        """The retired referrals web form's address (bookmarks): its pages are these."""
        return redirect(links.path("referrals"), code=301)

    @page("GET", "/forms/referrals/new")
    def old_form_new(self, request):
        return redirect(links.path("new_referral"), code=301)

    # -- the referral form: questions, save as draft, check answers, send --------------
    def _referral_form(self, request, me, draft_id=None, values=None, errors=None, status=200,
                       key=None):
        values = values if values is not None else {}
        from_check = bool(draft_id) and request.args.get("from") == "check"
        back = commands.check_path(draft_id) if from_check else links.path("referrals")
        return self._render(request, "referral_new.html", status=status, me=me,
                            title=FORM_TITLE, errors=errors, values=values,
                            cycles=range(schemas.CYCLES), draft_id=draft_id, back=back,
                            date_fields=schemas.date_field_names(),
                            action=(f"/referrals/{draft_id}/edit" + ("?from=check" if from_check
                                                                     else "")) if draft_id
                            else links.path("new_referral"),
                            chosen_areas=values.getlist("areas_of_need")
                            if hasattr(values, "getlist") else values.get("areas_of_need", []),
                            chosen_types=values.getlist("need_types")
                            if hasattr(values, "getlist") else values.get("need_types", []),
                            idempotency_key=key or schemas.new_idempotency_key(),
                            current=links.path("new_referral"))

    def _referral_form_sent(self, request, me, draft_id=None):
        """Continue (save, then check the answers) or Save as draft (save, come back later)."""
        api, form = self._api(me), request.form
        step = commands.keep_draft if form.get("action") == "draft" else \
            commands.continue_to_check

        def redisplay(exc):
            return self._referral_form(request, me, exc.draft_id or draft_id, values=form,
                                       errors=exc.errors, status=400,
                                       key=schemas.idempotency_key(form))
        return self._submit(request, me, lambda: step(api, form, draft_id), redisplay)

    @person_page("GET", "/referrals/new")
    def new_referral(self, request, me):
        return self._referral_form(request, me)

    @person_page("POST", "/referrals/new")
    def submit_referral(self, request, me):
        return self._referral_form_sent(request, me)

    @person_page("GET", "/referrals/<string:referral_id>/edit")
    def edit_referral(self, request, me, referral_id):
        r = queries.referral(self._api(me), referral_id)
        if r["status"] != "draft":
            return redirect(links.path("referral", referral_id=referral_id), code=303)
        values = schemas.form_from_referral(r)
        values["areas_of_need"], values["need_types"] = r.get("areas_of_need") or [], \
            r.get("need_types") or []
        return self._referral_form(request, me, referral_id, values=values)

    @person_page("POST", "/referrals/<string:referral_id>/edit")
    def save_referral(self, request, me, referral_id):
        return self._referral_form_sent(request, me, referral_id)

    @person_page("GET", "/referrals/<string:referral_id>/check")
    def check_referral(self, request, me, referral_id):
        api = self._api(me)
        r = queries.referral(api, referral_id)
        if r["status"] != "draft":
            return redirect(links.path("referral", referral_id=referral_id), code=303)
        return self._render(request, "referral_check.html", me=me,
                            title="Check your answers before sending your referral", r=r,
                            duplicates=queries.duplicates_of(api, r),
                            back=f"/referrals/{referral_id}/edit",
                            current=links.path("new_referral"))

    @person_page("POST", "/referrals/<string:referral_id>/check")
    def send_referral(self, request, me, referral_id):
        api = self._api(me)

        def redisplay(exc):  # the API found something the form must change
            r = queries.referral(api, referral_id)
            values = {**schemas.form_from_referral(r), "areas_of_need": r.get("areas_of_need")
                      or [], "need_types": r.get("need_types") or []}
            return self._referral_form(request, me, referral_id, values=values,
                                       errors=exc.errors, status=400)
        return self._submit(request, me, lambda: commands.submit_draft(api, referral_id),
                            redisplay)

    # -- one referral ---------------------------------------------------------------
    def _referral_page(self, request, me, referral_id, status=200, **context):
        view = queries.referral_view(self._api(me), me, referral_id)
        return self._render(request, "referral.html", status=status, me=me,
                            current=links.path("referrals"),
                            title=f"Referral {view['r']['reference']}", **view, **context)

    @person_page("GET", "/referrals/<string:referral_id>")
    def referral(self, request, me, referral_id):
        return self._referral_page(request, me, referral_id,
                                   created=request.args.get("created") == "1",
                                   notice=request.args.get("done"))

    @page("GET", "/referrals/<string:referral_id>/respond")
    def respond(self, request, referral_id):
        return redirect(links.path("referral", referral_id=referral_id) + "#answer", code=303)

    @person_page("POST", "/referrals/<string:referral_id>/respond")
    def send_answer(self, request, me, referral_id):
        return self._submit(
            request, me, lambda: commands.answer_question(self._api(me), referral_id, request.form),
            lambda exc: self._referral_page(request, me, referral_id, status=400,
                                            errors=exc.errors, values=request.form))

    @person_page("POST", "/referrals/<string:referral_id>/actions/<string:action>")
    def referral_action(self, request, me, referral_id, action):
        if action not in commands.BODIES:
            return self._not_found(request, me)
        return self._submit(
            request, me, lambda: commands.act(self._api(me), referral_id, action, request.form),
            lambda exc: self._referral_page(request, me, referral_id, status=400,
                                            errors=exc.errors, values=request.form))

    @person_page("GET", "/triage")
    def triage(self, request, me):
        return self._render(request, "triage.html", me=me, title="Triage queue",
                            **queries.triage_view(self._api(me)))

    @person_page("GET", "/agreements/<string:agreement_id>")
    def agreement(self, request, me, agreement_id):
        statement = self._api(me).get("referrals", f"/api/v1/agreements/{agreement_id}/statement")
        return self._render(request, "agreement.html", me=me,
                            title="Agreement and statement of hours", s=statement)
