"""Dumping objects with a marshmallow schema at a fraction of marshmallow's per-field cost.

`Schema._serialize` asks every field to `serialize`, which goes through `get_value`, the schema's
accessor and `utils.get_value` (a `__getitem__` probe, then `getattr`) before the field's own
`_serialize` runs. For a page of issues that chain is most of the response's CPU. `DirectDump`
resolves each field once per schema instance into (key, attribute name, field) and then reads the
attribute with `getattr` and calls the field's own `_serialize`: the same values, the same types,
the same `missing` rule, without the chain. Plain dicts are read by key (then attribute, as
marshmallow does); other mappings and rows, fields with dotted attributes or a callable dump
default, and schemas with their own `get_attribute` keep marshmallow's path.
"""

from __future__ import annotations

from marshmallow import Schema, missing


class DirectDump(Schema):
    """A schema whose dump reads each attribute directly (see the module docstring)."""

    def _direct_plan(self) -> list | None:
        plan = self.__dict__.get("_gridgov_plan", missing)
        if plan is missing:
            plan = self.__dict__["_gridgov_plan"] = _plan(self)
        return plan

    def _serialize(self, obj, *, many: bool = False):
        plan = self._direct_plan()
        if plan is None:
            return super()._serialize(obj, many=many)
        if many and obj is not None:
            return [self._serialize_one(plan, item) for item in obj]
        return self._serialize_one(plan, obj)

    def _serialize_one(self, plan: list, obj) -> dict:
        is_dict = type(obj) is dict
        if not is_dict and hasattr(obj, "__getitem__"):  # another mapping, a row: marshmallow's lookup
            return super()._serialize(obj, many=False)
        ret = self.dict_class()
        for key, attr, name, field in plan:
            if name is None:  # Method, Function, Constant: computed from the whole object
                value = field._serialize(None, attr, obj)
            else:
                # marshmallow reads a dict's key and, failing that, its attribute: so does this
                value = obj.get(name, missing) if is_dict else missing
                if value is missing:
                    value = getattr(obj, name, missing)
                if value is missing:
                    value = field.dump_default
                    if value is missing:
                        continue
                value = field._serialize(value, attr, obj)
            if value is not missing:
                ret[key] = value
        return ret


def _plan(schema: Schema) -> list | None:
    """(key, attr, attribute name or None, field) per dump field; None when one needs marshmallow."""
    if type(schema).get_attribute is not Schema.get_attribute:
        return None
    plan = []
    for attr, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else attr
        if not field._CHECK_ATTRIBUTE:
            plan.append((key, attr, None, field))
            continue
        name = field.attribute or attr
        if "." in name or callable(field.dump_default):
            return None
        plan.append((key, attr, name, field))
    return plan
