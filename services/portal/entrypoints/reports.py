"""Costs against the SEN budget, the impact report, the messages sent, and the trust
admin's organisations and staff directory."""

from .. import queries
from ..queries import exports
from .base import page, person_page


class ReportPages:
    @person_page("GET", "/costs")
    def costs(self, request, me):
        api = self._api(me)
        c = api.get("provision", "/api/v1/provision/costs")
        return self._render(request, "costs.html", me=me, title="Costs against the SEN budget",
                            c=c, tier_chart=self.documents.cost_chart(
                                *exports.cost_chart_data(api, c)))

    @person_page("GET", "/impact")
    def impact(self, request, me):
        return self._render(request, "impact.html", me=me, title="Impact report",
                            **queries.impact_view(self._api(me), request.args.get("group_by")))

    @person_page("GET", "/notifications")
    def notifications(self, request, me):
        return self._render(request, "notifications.html", me=me, title="Messages sent",
                            **queries.notifications_view(self._api(me), me,
                                                         request.args.get("referral_id"),
                                                         request.args.get("pupil_id")))

    @person_page("GET", "/admin/organisations")
    def organisations(self, request, me):
        return self._render(request, "organisations.html", me=me, title="Organisations",
                            items=queries.listing(self._api(me).get("pupils",
                                                                    "/api/v1/organisations")))

    @person_page("GET", "/admin/staff")
    def staff(self, request, me):
        return self._render(request, "staff.html", me=me, title="Staff directory",
                            items=queries.listing(self._api(me).get("pupils", "/api/v1/staff")))

    @page("GET", "/<path:path>")
    def not_found(self, request, path):
        return self._message(request, "Page not found", [
            "If you typed the web address, check it is correct.",
            "If you pasted the web address, check you copied the entire address."],
            status=404, me=self._me(request))
