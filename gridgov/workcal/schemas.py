from marshmallow import Schema, fields, validate

MAX_DAYS = 60  # a year has about 30 days off and a handful of make-up days; more is a mistake


class CalendarDaySchema(Schema):
    day = fields.Date(required=True, data_key="date")
    name = fields.String(load_default="", validate=validate.Length(max=100))


class CalendarYearInSchema(Schema):
    days_off = fields.List(
        fields.Nested(CalendarDaySchema),
        required=True,
        validate=validate.Length(max=MAX_DAYS),
        metadata={
            "description": "Every public holiday of the year (放假), weekends inside a holiday included or not"
        },
    )
    working_days = fields.List(
        fields.Nested(CalendarDaySchema),
        load_default=list,
        validate=validate.Length(max=MAX_DAYS),
        metadata={"description": "Weekend days that are working days (调休上班)"},
    )
    source = fields.String(
        load_default="admin",
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Where the schedule comes from, e.g. the State Council notice's number"},
    )


class CalendarImportSchema(CalendarYearInSchema):
    year = fields.Integer(required=True)


class CalendarYearSchema(Schema):
    year = fields.Integer()
    status = fields.String(
        metadata={
            "description": "confirmed: entered from the State Council's schedule; provisional: computed from "
            "the holiday law (元旦 1, 春节 4 from 除夕, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3 days, a holiday "
            "on a weekend given back on the next working day), with no make-up working days; deadlines "
            "that count its days are flagged uncertain"
        }
    )
    source = fields.String()
    updated_at = fields.DateTime(allow_none=True)
    updated_by = fields.String(allow_none=True, metadata={"description": "username of who entered it last"})
    days_off = fields.List(fields.Nested(CalendarDaySchema))
    working_days = fields.List(fields.Nested(CalendarDaySchema))
    moved_deadlines = fields.Integer(
        metadata={"description": "after a PUT: how many open deadlines (issues and wage cases) moved"}
    )
