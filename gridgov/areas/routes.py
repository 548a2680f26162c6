import geojson
from flask import Response
from flask.views import MethodView

from gridgov.areas import importing, locating, services
from gridgov.areas.schemas import (
    AreaQuerySchema,
    AreaSchema,
    AreaUpdateSchema,
    FeatureCollectionSchema,
    ImportResultSchema,
    LocateQuerySchema,
    LocateResultSchema,
    WorkerAssignSchema,
    WorkerSchema,
)
from gridgov.auth.security import auth_required, current_user
from gridgov.pagination import Blueprint, paginate

blp = Blueprint("areas", __name__, url_prefix="/api/v1/areas", description="Areas and micro-grids")


def geojson_response(collection) -> Response:
    return Response(geojson.dumps(collection, ensure_ascii=False), mimetype="application/geo+json")


@blp.route("")
class Areas(MethodView):
    @auth_required()
    @blp.arguments(AreaQuerySchema, location="query")
    @blp.response(200, AreaSchema(many=True))
    @blp.doc(
        responses={
            "200": {
                "description": "OK",
                "headers": {"X-Pagination": {"$ref": "#/components/headers/PAGINATION"}},
                "content": {
                    "application/json": {
                        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Area"}}
                    },
                    "application/geo+json": {"schema": {"type": "object"}},
                },
            }
        }
    )
    @blp.paginate()
    def get(self, query, pagination_parameters):
        """List the areas in scope (JSON pages, or all of them as GeoJSON)."""
        user = current_user()
        if query["format"] == "geojson":
            collection = services.export_geojson(user, query.get("level"), query.get("parent"))
            pagination_parameters.item_count = len(collection["features"])
            return geojson_response(collection)
        return paginate(
            services.areas_query(user, query.get("level"), query.get("parent")), pagination_parameters
        )

    @auth_required("staff")
    @blp.arguments(AreaSchema)
    @blp.response(201, AreaSchema)
    def post(self, body):
        """Create an area under a parent in scope."""
        return services.create_area(current_user(), body)


@blp.route("/import")
class AreaImport(MethodView):
    @auth_required("staff")
    @blp.arguments(FeatureCollectionSchema)
    @blp.response(200, ImportResultSchema)
    def post(self, body):
        """Import a FeatureCollection of areas: all or nothing, upserted by code."""
        return importing.import_collection(current_user(), body)


@blp.route("/locate")
class AreaLocate(MethodView):
    @auth_required()
    @blp.arguments(LocateQuerySchema, location="query")
    @blp.response(200, LocateResultSchema)
    def get(self, query):
        """The deepest area containing a point, its path and its grid workers."""
        return locating.locate(current_user(), query["lon"], query["lat"], query["crs"])


@blp.route("/<int:area_id>")
class AreaItem(MethodView):
    @auth_required()
    @blp.response(200, AreaSchema)
    def get(self, area_id):
        """One area."""
        return services.get_area(current_user(), area_id)

    @auth_required("staff")
    @blp.arguments(AreaUpdateSchema)
    @blp.response(200, AreaSchema)
    def patch(self, body, area_id):
        """Rename an area or replace its boundary."""
        return services.update_area(current_user(), area_id, body)

    @auth_required("staff")
    @blp.response(204)
    def delete(self, area_id):
        """Delete an area without children."""
        services.delete_area(current_user(), area_id)


@blp.route("/<int:area_id>/workers")
class AreaWorkers(MethodView):
    @auth_required()
    @blp.response(200, WorkerSchema(many=True))
    def get(self, area_id):
        """The grid workers assigned to a grid or micro-grid."""
        return services.list_workers(current_user(), area_id)

    @auth_required("staff")
    @blp.arguments(WorkerAssignSchema)
    @blp.response(200, WorkerSchema(many=True))
    def put(self, body, area_id):
        """Set the grid workers of a grid or micro-grid."""
        return services.assign_workers(current_user(), area_id, body["user_ids"])


@blp.route("/<int:area_id>/coverage")
class AreaCoverage(MethodView):
    @auth_required()
    @blp.response(200, content_type="application/geo+json")
    def get(self, area_id):
        """Gaps no child covers and overlaps between children, as GeoJSON."""
        return geojson_response(importing.coverage(current_user(), area_id))
