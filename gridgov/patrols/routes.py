from flask import Response
from flask.views import MethodView

from gridgov.auth.security import auth_required, current_user
from gridgov.pagination import Blueprint, paginate
from gridgov.patrols import reports, services
from gridgov.patrols.permissions import PATROLLERS, PLANNERS, REPORT_READERS
from gridgov.patrols.schemas import (
    BatchResultSchema,
    FinishSchema,
    PatrolQuerySchema,
    PatrolSchema,
    PatrolStartSchema,
    PlanSchema,
    PointBatchSchema,
    ReportQuerySchema,
)
from gridgov.spreadsheets import json_or_xlsx, xlsx_response

blp = Blueprint(
    "patrols", __name__, url_prefix="/api/v1", description="Patrols (日巡) and the daily report (日报)"
)


@blp.route("/patrols")
class Patrols(MethodView):
    @auth_required()
    @blp.arguments(PatrolQuerySchema, location="query")
    @blp.response(200, PatrolSchema(many=True))
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """Patrols the user may see: his own, or his workers' for supervisors."""
        return paginate(services.patrols_query(current_user(), query.get("date")), pagination_parameters)

    @auth_required(*PATROLLERS)
    @blp.arguments(PatrolStartSchema)
    @blp.response(201, PatrolSchema)
    @blp.alt_response(200, schema=PatrolSchema, description="The same client_uuid again: the same patrol")
    def post(self, body):
        """Start a patrol; a retry with the same client_uuid returns the same one."""
        patrol, created = services.start(current_user(), str(body["client_uuid"]), body["started_at"])
        return patrol, 201 if created else 200


@blp.route("/patrols/<int:patrol_id>")
class PatrolItem(MethodView):
    @auth_required()
    @blp.response(200, PatrolSchema)
    def get(self, patrol_id):
        """One patrol with its distance, duration and time per micro-grid."""
        return services.get_patrol(current_user(), patrol_id)


@blp.route("/patrols/<int:patrol_id>/points")
class PatrolPoints(MethodView):
    @auth_required(*PATROLLERS)
    @blp.arguments(PointBatchSchema)
    @blp.response(200, BatchResultSchema)
    def post(self, body, patrol_id):
        """Append a batch of GPS points; a batch whose seq was already received changes nothing."""
        return services.add_points(current_user(), patrol_id, body["seq"], body["points"], body["crs"])


@blp.route("/patrols/<int:patrol_id>/finish")
class PatrolFinish(MethodView):
    @auth_required(*PATROLLERS)
    @blp.arguments(FinishSchema)
    @blp.response(200, PatrolSchema)
    def post(self, body, patrol_id):
        """Finish a patrol: distance, duration, flagged speeds and the grids it counts for."""
        return services.finish(current_user(), patrol_id, body["ended_at"])


@blp.route("/patrols/<int:patrol_id>/track")
class PatrolTrack(MethodView):
    @auth_required()
    @blp.response(200, content_type="application/geo+json")
    def get(self, patrol_id):
        """The track as a GeoJSON LineString; only the worker and his supervisors may read it."""
        from flask import current_app

        return Response(
            current_app.json.dumps(services.track(current_user(), patrol_id)), mimetype="application/geo+json"
        )


@blp.route("/areas/<int:area_id>/patrol-plan")
class Plan(MethodView):
    @auth_required(*PLANNERS)
    @blp.arguments(PlanSchema)
    @blp.response(200, PlanSchema)
    def put(self, body, area_id):
        """How often this micro-grid must be patrolled: daily, twice_daily or weekdays."""
        return services.set_plan(current_user(), area_id, body["frequency"])


@blp.route("/reports/daily")
class DailyReport(MethodView):
    @auth_required(*REPORT_READERS)
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200)
    @blp.doc(responses=json_or_xlsx({"type": "object"}))
    def get(self, query):
        """The day's report for an area (frozen at 23:59; later data shows as a correction); format=xlsx."""
        report = reports.daily_report(current_user(), query["area"], query["date"])
        if query["format"] == "xlsx":
            return xlsx_response(reports.daily_report_xlsx(report), "daily-report.xlsx")
        return report
