from flask.views import MethodView
from flask_smorest import Blueprint

from gridgov.auth.security import auth_required, current_user
from gridgov.workcal import services
from gridgov.workcal.schemas import CalendarYearInSchema, CalendarYearSchema

blp = Blueprint(
    "calendar",
    __name__,
    url_prefix="/api/v1/calendar",
    description="The working calendar: each year's days off and make-up working days (调休)",
)


# The spec states the years the server answers for; one outside them is a 422 naming `year`.
YEAR = {
    "in": "path",
    "name": "year",
    "schema": {"type": "integer", "minimum": services.YEARS[0], "maximum": services.YEARS[1]},
}


@blp.route("/<int:year>", parameters=[YEAR])
class CalendarYearView(MethodView):
    @auth_required()
    @blp.response(200, CalendarYearSchema)
    def get(self, year):
        """A year's days off and make-up working days, confirmed or provisional."""
        return services.year_schedule(year)

    @auth_required("admin")
    @blp.arguments(CalendarYearInSchema)
    @blp.response(200, CalendarYearSchema)
    def put(self, body, year):
        """Enter or correct a year from the State Council's notice (admin; recomputes open deadlines)."""
        return services.set_year(year, services.entries(body), current_user(), body["source"])
