"""Training: the course catalogue, a session's page (booking, and the CPD lead's
attendance register), a person's bookings, calendar files and certificates, and the
CPD lead's approvals."""

from werkzeug.wrappers import Response

from services.contracts import links

from .. import domain, queries
from ..commands import cpd as commands
from .base import person_page


class CpdPages:
    @person_page("GET", "/cpd/courses")
    def cpd_courses(self, request, me):
        return self._render(request, "cpd_courses.html", me=me, title="Training courses",
                            items=queries.courses(self._api(me)),
                            need_and_training=domain.sees_need_and_training(me))

    def _session_page(self, request, me, session_id, status=200, errors=None, values=None):
        return self._render(request, "cpd_session.html", status=status, me=me,
                            errors=errors, values=values or {},
                            notice=request.args.get("done"), current=links.path("cpd_catalogue"),
                            **queries.session_view(self._api(me), me, session_id))

    @person_page("GET", "/cpd/sessions/<string:session_id>")
    def cpd_session(self, request, me, session_id):
        return self._session_page(request, me, session_id)

    @person_page("POST", "/cpd/sessions/<string:session_id>/book")
    def cpd_book(self, request, me, session_id):
        return self._submit(
            request, me, lambda: commands.book(self._api(me), me, session_id, request.form),
            lambda exc: self._session_page(request, me, session_id, status=400,
                                           errors=exc.errors, values=request.form))

    @person_page("POST", "/cpd/sessions/<string:session_id>/attendance")
    def cpd_attendance(self, request, me, session_id):
        return self._submit(
            request, me,
            lambda: commands.record_attendance(self._api(me), session_id, request.form),
            lambda exc: self._session_page(request, me, session_id, status=400,
                                           errors=exc.errors))

    @person_page("GET", "/cpd/bookings")
    def cpd_bookings(self, request, me):
        return self._render(request, "cpd_bookings.html", me=me, title="My bookings",
                            notice=request.args.get("done"),
                            **queries.bookings_view(self._api(me)))

    @person_page("POST", "/cpd/bookings/<string:booking_id>/<string:action>")
    def cpd_booking_action(self, request, me, booking_id, action):
        if action not in commands.BOOKING_ACTIONS:
            return self._not_found(request, me)
        return self._submit(
            request, me, lambda: commands.booking_action(self._api(me), booking_id, action),
            lambda exc: None)

    @person_page("GET", "/cpd/bookings/<string:booking_id>/calendar.ics")
    def cpd_booking_calendar(self, request, me, booking_id):
        api = self._api(me)
        booking = api.get("cpd", f"/api/v1/cpd/bookings/{booking_id}")
        ics = api.call("GET", "cpd", booking["calendar_path"], raw=True)
        return Response(ics.content, content_type="text/calendar; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="training.ics"'})

    @person_page("GET", "/cpd/certificates/<string:certificate_id>")
    def cpd_certificate(self, request, me, certificate_id):
        c = self._api(me).get("cpd", f"/api/v1/cpd/certificates/{certificate_id}")
        return self._render(request, "cpd_certificate.html", me=me, title="Certificate", c=c,
                            current=links.path("cpd_bookings"))

    @person_page("GET", "/cpd/certificates/<string:certificate_id>/certificate.pdf")
    def cpd_certificate_pdf(self, request, me, certificate_id):
        pdf = self._api(me).call(
            "GET", "cpd", f"/api/v1/cpd/certificates/{certificate_id}/pdf", raw=True)
        return Response(pdf.content, content_type="application/pdf", headers={
            "Content-Disposition": 'attachment; filename="certificate.pdf"'})

    @person_page("GET", "/cpd/approvals")
    def cpd_approvals(self, request, me):
        if not set(me.roles) & set(queries.CPD_LEADS):
            return self._message(request, "You cannot see this page", [
                "Only your school's CPD lead approves bookings."], status=403, me=me)
        return self._render(request, "cpd_approvals.html", me=me, title="Bookings to approve",
                            notice=request.args.get("done"),
                            **queries.approvals_view(self._api(me), me))
