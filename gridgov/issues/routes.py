import uuid

from flask import Response, current_app, request, send_file
from flask.views import MethodView

from gridgov.auth.security import auth_required, current_user
from gridgov.errors import Invalid, PayloadTooLarge
from gridgov.i18n import Msg
from gridgov.idempotency import idempotent
from gridgov.issues import catalogue, queries, stats, submission, workflow
from gridgov.issues.permissions import FIGURE_READERS, REPORTERS, UPLOADERS
from gridgov.issues.schemas import (
    ActionSchema,
    CategorySchema,
    CategoryUpdateSchema,
    DepartmentSchema,
    EventSchema,
    IssueCreatedSchema,
    IssueCreateSchema,
    IssueQuerySchema,
    IssueSchema,
    SyncResultSchema,
    SyncSchema,
    UploadSchema,
    WhistleSchema,
)
from gridgov.issues.stats import StatsQuerySchema, StatsRowSchema
from gridgov.pagination import Blueprint, keyset_page, paginate
from gridgov.spreadsheets import array_of, json_or_xlsx, xlsx_response

blp = Blueprint(
    "issues", __name__, url_prefix="/api/v1", description="Grid issues: report, dispatch, fix, verify"
)
FEATURE_PROPERTIES = IssueSchema(many=True)  # made once: a schema instance copies all its fields


def _issue_id(issue) -> int:
    return issue.id


@blp.route("/issues")
class Issues(MethodView):
    @auth_required()
    @blp.arguments(IssueQuerySchema, location="query")
    @blp.response(200, IssueSchema(many=True))
    @blp.paginate()
    @blp.doc(
        responses=json_or_xlsx(
            array_of("Issue"),
            headers={"X-Pagination": {"$ref": "#/components/headers/PAGINATION"}},
            others={"application/geo+json": {"type": "object"}},
        )
    )
    def get(self, query, pagination_parameters):
        """Issues in scope, filtered; format=geojson gives a FeatureCollection, xlsx a spreadsheet."""
        user = current_user()
        select_ = queries.issues_query(user, query)
        if query["format"] == "json" and query.get("after"):
            return keyset_page(select_, pagination_parameters, cursor=_issue_id)
        if query["format"] == "json":
            return paginate(
                select_,
                pagination_parameters,
                count=lambda: queries.issues_count(user, query),
                cursor=_issue_id,
            )
        issues = stats.bounded(select_)
        pagination_parameters.item_count = len(issues)
        if query["format"] == "geojson":
            body = queries.as_feature_collection(issues, FEATURE_PROPERTIES.dump)
            return Response(current_app.json.dumps(body), mimetype="application/geo+json")
        return xlsx_response(stats.issues_xlsx(issues), "issues.xlsx")

    @auth_required(*REPORTERS)
    @idempotent
    @blp.arguments(IssueCreateSchema)
    @blp.response(201, IssueCreatedSchema)
    @blp.alt_response(
        200, schema=IssueCreatedSchema, description="The same client_uuid again: the original issue"
    )
    def post(self, body):
        """Report a problem from a phone; a retry with the same client_uuid returns the same issue."""
        done = submission.submit(current_user(), body)
        return done, 201 if done.created else 200


@blp.route("/sync/issues")
class SyncIssues(MethodView):
    @auth_required(*REPORTERS)
    @idempotent
    @blp.arguments(SyncSchema)
    @blp.response(200, SyncResultSchema(many=True))
    def post(self, body):
        """Up to 50 reports recorded offline; one result per item, each stored or refused on its own."""
        return submission.sync_batch(current_user(), body["items"])


@blp.route("/issues/<int:issue_id>")
class IssueItem(MethodView):
    @auth_required()
    @blp.response(200, IssueSchema)
    def get(self, issue_id):
        """One issue."""
        return queries.get_issue(current_user(), issue_id)


@blp.route("/issues/<int:issue_id>/actions")
class IssueActions(MethodView):
    @auth_required()
    @idempotent
    @blp.arguments(ActionSchema)
    @blp.response(200, IssueSchema)
    def post(self, body, issue_id):
        """Move an issue on: accept, reject, dispatch, start, fix, verify, defer, resume, merge, reopen, escalate, report_in, confirm_location."""
        return workflow.act(current_user(), issue_id, body)


@blp.route("/issues/<int:issue_id>/timeline")
class IssueTimeline(MethodView):
    @auth_required()
    @blp.response(200, EventSchema(many=True))
    def get(self, issue_id):
        """Every event of the issue, oldest first, with actor and time."""
        return queries.timeline(current_user(), issue_id)


@blp.route("/issues/<int:issue_id>/whistles")
class IssueWhistles(MethodView):
    @auth_required()
    @blp.response(200, WhistleSchema(many=True))
    def get(self, issue_id):
        """Departments called to the issue (吹哨) and whether they reported in (报到)."""
        return workflow.whistles(current_user(), issue_id)


@blp.route("/categories")
class Categories(MethodView):
    @auth_required()
    @blp.response(200, CategorySchema(many=True))
    def get(self):
        """The category catalogue with codes, handling departments and time limits."""
        return catalogue.list_categories()

    @auth_required("admin")
    @blp.arguments(CategorySchema)
    @blp.response(201, CategorySchema)
    def post(self, body):
        """Add a category (admin)."""
        return catalogue.create_category(body)


@blp.route("/categories/<int:category_id>")
class CategoryItem(MethodView):
    @auth_required("admin")
    @blp.arguments(CategoryUpdateSchema(partial=True))
    @blp.response(200, CategorySchema)
    def patch(self, body, category_id):
        """Change a category's names, department, time limit, urgency or Open311 publicity (admin)."""
        return catalogue.update_category(category_id, body)


@blp.route("/departments")
class Departments(MethodView):
    @auth_required()
    @blp.response(200, DepartmentSchema(many=True))
    def get(self):
        """Departments that issues are dispatched to."""
        return catalogue.list_departments()


@blp.route("/uploads")
class Uploads(MethodView):
    @auth_required(*UPLOADERS)
    @blp.response(201, UploadSchema)
    @blp.alt_response(
        200, schema=UploadSchema, description="The same client_uuid and photo again: the first upload"
    )
    @blp.doc(
        description="JPEGs up to 200 megapixels are reduced to 4096 px on the long side; PNG over 16, "
        "WebP over 8 and progressive JPEG over 24 megapixels are refused with 413 before decoding. "
        "HEIC keeps its picture; its EXIF and XMP items are blanked, and a file with other payloads is refused.",
        requestBody={
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "client_uuid": {
                                "type": "string",
                                "format": "uuid",
                                "description": "Made on the device; a retry sends it again and gets "
                                "the first upload (409 if it names a different photo)",
                            },
                        },
                        "required": ["file"],
                    }
                }
            },
        },
    )
    def post(self):
        """Upload a photo (JPEG, PNG, WebP or HEIC, 10 MiB at most); location metadata is removed."""
        request.max_content_length = current_app.config["MAX_UPLOAD_BYTES"] + 64 * 1024
        client_uuid = request.form.get("client_uuid")
        if client_uuid is not None:  # sent but empty is not a UUID either
            try:
                client_uuid = str(uuid.UUID(client_uuid))
            except ValueError:
                raise Invalid(
                    Msg("client_uuid 不是有效的 UUID。", "client_uuid is not a valid UUID."),
                    errors={"form": {"client_uuid": ["Not a valid UUID."]}},
                ) from None
        upload = request.files.get("file")
        if upload is None:
            raise Invalid(
                Msg("缺少文件字段 file。", "The form has no file field."),
                errors={"files": {"file": ["required"]}},
            )
        data = upload.read(current_app.config["MAX_UPLOAD_BYTES"] + 1)
        if len(data) > current_app.config["MAX_UPLOAD_BYTES"]:
            raise PayloadTooLarge()
        upload, created = submission.save_upload(current_user(), data, client_uuid)
        return upload, 201 if created else 200


@blp.route("/uploads/<int:upload_id>")
class UploadItem(MethodView):
    @auth_required()
    @blp.response(200, content_type="image/*")
    def get(self, upload_id):
        """A photo, to its owner and to users who may see its issue."""
        upload, path = submission.upload_for(current_user(), upload_id)
        return send_file(path, mimetype=upload.content_type, max_age=3600)


@blp.route("/stats/issues")
class IssueStats(MethodView):
    @auth_required(*FIGURE_READERS)
    @blp.arguments(StatsQuerySchema, location="query")
    @blp.response(200, StatsRowSchema(many=True))
    @blp.doc(responses=json_or_xlsx(array_of("StatsRow")))
    def get(self, query):
        """Figures by grid, community, department, category or worker; format=xlsx for a spreadsheet.

        The evaluation formulas of digital urban management, over one set of issues: due (应结案数) =
        issues whose started deadline falls in the period, rejected and merged excluded; deferred
        (缓办数) = of them, deferred now; closed (结案数) and closed_on_time (按期结案数) = of the rest,
        closed, and closed by the deadline. closure_rate (结案率) = closed ÷ (due − deferred);
        on_time_rate (按期结案率) = closed_on_time ÷ (due − deferred); rework_count = failed
        verifications + reopenings; reworked / reworked_3_plus = issues sent back at least once /
        three times or more; rework_rate (返工率) = reworked ÷ (due − deferred). No rate exceeds 1;
        reported = issues received in the period, in no rate.
        """
        rows = stats.issue_figures(current_user(), query)
        if query["format"] == "xlsx":
            return xlsx_response(stats.figures_xlsx(rows, query["group_by"]), "issue-figures.xlsx")
        return rows
