import hashlib

from flask import Response, request, url_for
from flask.views import MethodView

from gridgov.auth.security import auth_required, current_user
from gridgov.markets import duty, rosters, services
from gridgov.markets.feeds import build_calendar, market_title
from gridgov.markets.permissions import CHECKERS_IN, EDITORS, READERS
from gridgov.markets.revisions import with_revisions
from gridgov.markets.schemas import (
    AssignmentSchema,
    AssignSchema,
    BlackoutOutSchema,
    BlackoutSchema,
    CheckinSchema,
    ExceptionSchema,
    FeedTokenSchema,
    MarketDaySchema,
    MarketDaysQuerySchema,
    MarketSchema,
    MarketUpdateSchema,
    OccurrenceSchema,
    RangeQuerySchema,
    TeamSchema,
    TeamUpdateSchema,
)
from gridgov.pagination import Blueprint, paginate
from gridgov.timeutil import local_today

blp = Blueprint(
    "markets", __name__, url_prefix="/api/v1", description="Market days, patrol teams and calendars"
)
CALENDAR_DOC = {
    "200": {
        "description": "The calendar; its ETag changes only when the data does",
        "headers": {"ETag": {"schema": {"type": "string"}}},
    },
    "304": {"description": "Not modified: If-None-Match named the current ETag"},
}


def ics_response(occurrences: list[dict], name: str, filename: str) -> Response:
    """The calendar with an ETag of its bytes: unchanged data answers If-None-Match with 304."""
    body = build_calendar(name, with_revisions(occurrences))
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-cache"  # may be stored, but asked again each time
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    return response.make_conditional(request)


@blp.route("/markets")
class Markets(MethodView):
    @auth_required(*READERS)
    @blp.response(200, MarketSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """List markets in scope."""
        return paginate(services.markets_query(current_user()), pagination_parameters)

    @auth_required(*EDITORS)
    @blp.arguments(MarketSchema)
    @blp.response(201, MarketSchema)
    def post(self, body):
        """Create a market with its rule (逢二, 逢三六九, 每周三 … or structured)."""
        return services.create_market(current_user(), body)


@blp.route("/markets/<int:market_id>")
class MarketItem(MethodView):
    @auth_required(*READERS)
    @blp.response(200, MarketSchema)
    def get(self, market_id):
        """One market."""
        return services.get_market(current_user(), market_id)

    @auth_required(*EDITORS)
    @blp.arguments(MarketUpdateSchema)
    @blp.response(200, MarketSchema)
    def patch(self, body, market_id):
        """Change a market."""
        return services.update_market(current_user(), market_id, body)


@blp.route("/markets/<int:market_id>/occurrences")
class MarketOccurrences(MethodView):
    @auth_required(*READERS)
    @blp.arguments(RangeQuerySchema, location="query")
    @blp.response(200, OccurrenceSchema(many=True))
    def get(self, query, market_id):
        """A market's days in a date range, with lunar dates, status and teams."""
        return services.occurrences(current_user(), market_id, query["from_"], query["to"])


@blp.route("/market-days")
class MarketDays(MethodView):
    @auth_required(*READERS)
    @blp.arguments(MarketDaysQuerySchema, location="query")
    @blp.response(200, MarketDaySchema(many=True))
    def get(self, query):
        """Every market's days in a range (optionally under one area), each saying whether it lacks a team and which teams clash."""
        return duty.duty_days(
            current_user(), query["from_"], query["to"], query.get("area"), query.get("uncovered")
        )


@blp.route("/market-coverage")
class MarketCoverage(MethodView):
    @auth_required(*READERS)
    @blp.arguments(RangeQuerySchema, location="query")
    @blp.response(200, OccurrenceSchema(many=True))
    def get(self, query):
        """Market days that will be held but have no patrol team yet."""
        return duty.duty_days(current_user(), query["from_"], query["to"], query.get("area"), uncovered=True)


@blp.route("/markets/<int:market_id>/calendar.ics")
class MarketCalendar(MethodView):
    @auth_required(*READERS)
    @blp.response(200, content_type="text/calendar")
    @blp.doc(responses=CALENDAR_DOC)
    def get(self, market_id):
        """The market's days as an RFC 5545 calendar (30 days back, a year ahead)."""
        user = current_user()
        market = services.get_market(user, market_id)
        start, end = services.default_window(local_today())
        return ics_response(
            services.occurrences(user, market_id, start, end),
            market_title(market.name),
            f"market-{market_id}.ics",
        )


@blp.route("/markets/<int:market_id>/exceptions")
class MarketExceptions(MethodView):
    @auth_required(*EDITORS)
    @blp.arguments(ExceptionSchema)
    @blp.response(201, ExceptionSchema)
    def post(self, body, market_id):
        """Cancel, move or add a market day with a reason; a moved day's teams go with it (409 on a clash)."""
        return services.add_exception(current_user(), market_id, body)


@blp.route("/markets/<int:market_id>/exceptions/<int:exception_id>")
class MarketExceptionItem(MethodView):
    @auth_required(*EDITORS)
    @blp.response(204)
    def delete(self, market_id, exception_id):
        """Undo a cancellation, move or addition."""
        services.remove_exception(current_user(), market_id, exception_id)


@blp.route("/market-blackouts")
class Blackouts(MethodView):
    @auth_required(*READERS)
    @blp.response(200, BlackoutOutSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Standing lunar-date closures (e.g. Spring Festival) of the towns in scope."""
        return paginate(services.blackouts_query(current_user()), pagination_parameters)

    @auth_required(*EDITORS)
    @blp.arguments(BlackoutSchema)
    @blp.response(201, BlackoutOutSchema)
    def post(self, body):
        """Close every market of a town between two lunar dates, every year."""
        return services.create_blackout(current_user(), body)


@blp.route("/markets/<int:market_id>/assignments")
class MarketAssignments(MethodView):
    @auth_required(*EDITORS)
    @blp.arguments(AssignSchema)
    @blp.response(201, AssignmentSchema(many=True))
    def post(self, body, market_id):
        """Put teams on duty: one day, every day of a period, or a rotation; 409 on a clash."""
        return rosters.assign(current_user(), market_id, body)


@blp.route("/market-assignments/<int:assignment_id>")
class AssignmentItem(MethodView):
    @auth_required(*EDITORS)
    @blp.response(204)
    def delete(self, assignment_id):
        """Take a team off a market day."""
        rosters.unassign(current_user(), assignment_id)


@blp.route("/markets/<int:market_id>/checkins")
class MarketCheckins(MethodView):
    @auth_required(*CHECKERS_IN)
    @blp.arguments(CheckinSchema)
    @blp.response(201, CheckinSchema)
    def post(self, body, market_id):
        """Check in at today's market with the phone's point."""
        return rosters.check_in(
            current_user(), market_id, body["lon"], body["lat"], body["crs"], device_at=body.get("device_at")
        )


@blp.route("/patrol-teams")
class Teams(MethodView):
    @auth_required(*READERS)
    @blp.response(200, TeamSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """Patrol teams in scope."""
        return paginate(rosters.teams_query(current_user()), pagination_parameters)

    @auth_required(*EDITORS)
    @blp.arguments(TeamSchema)
    @blp.response(201, TeamSchema)
    def post(self, body):
        """Create a patrol team."""
        return rosters.create_team(current_user(), body)


@blp.route("/patrol-teams/<int:team_id>")
class TeamItem(MethodView):
    @auth_required(*READERS)
    @blp.response(200, TeamSchema)
    def get(self, team_id):
        """One team."""
        return rosters.get_team(current_user(), team_id)

    @auth_required(*EDITORS)
    @blp.arguments(TeamUpdateSchema)
    @blp.response(200, TeamSchema)
    def patch(self, body, team_id):
        """Rename a team or change its members (409 if that makes a clash)."""
        return rosters.update_team(current_user(), team_id, body)


@blp.route("/patrol-teams/<int:team_id>/feed-token")
class TeamFeedToken(MethodView):
    @auth_required(*EDITORS)
    @blp.response(201, FeedTokenSchema)
    def post(self, team_id):
        """A new calendar-feed URL for the team (shown once; the old one stops working)."""
        token = rosters.rotate_feed_token(current_user(), team_id)
        return {
            "token": token,
            "url": url_for("markets.TeamCalendar", team_id=team_id, token=token, _external=True),
        }

    @auth_required(*EDITORS)
    @blp.response(204)
    def delete(self, team_id):
        """Revoke the team's calendar-feed URL."""
        rosters.revoke_feed_token(current_user(), team_id)


@blp.route("/patrol-teams/<int:team_id>/calendar.ics")
class TeamCalendar(MethodView):
    @blp.doc(
        security=[],
        parameters=[{"in": "query", "name": "token", "required": True, "schema": {"type": "string"}}],
        responses=CALENDAR_DOC,
    )
    @blp.response(200, content_type="text/calendar")
    def get(self, team_id):
        """The team's duty days as a calendar; the secret token in the URL replaces a login."""
        team = rosters.team_by_feed_token(team_id, request.args.get("token", ""))
        start, end = services.default_window(local_today())
        return ics_response(
            rosters.team_occurrences(team, start, end), f"{team.name} 值守", f"team-{team_id}.ics"
        )
