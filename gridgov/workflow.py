"""The one engine that grid issues and wage cases move on.

A domain declares its states (an enum of `State`, with titles), a table of moves (`Rule`: the
states a move starts from and who may take it) and one short handler per verb. The engine checks
the state (409 naming the state and the moves this user has), then who acts (403), runs the
handler and writes the timeline line. The caller loads the row with `for_update` first, so a
second move on the same row waits for the first to commit and then sees its state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from gridgov.errors import Conflict, Forbidden, Invalid
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.timeutil import utcnow

ROLE_REFUSED = Msg("您的角色不能执行此操作。", "Your role may not take this action.")


class State(StrEnum):
    """A state, stored as its string value, with its bilingual title as `label`."""

    label: Msg

    def __new__(cls, value: str, zh: str, en: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = Msg(zh, en)
        return member


def values(*states: State) -> tuple[str, ...]:
    """A named set of states as plain strings (for SQL `IN` and for `in` tests alike)."""
    return tuple(state.value for state in states)


def for_update(query, entity):
    """`query` locking the `entity` rows it reads until the commit (PostgreSQL; SQLite locks the file)."""
    if db.engine.dialect.name == "postgresql":
        return query.with_for_update(of=entity)
    return query


class TimelineEvent:
    """Mixin of a timeline model: `record` adds one line (the caller commits).

    `subject_key` names the column that points at the issue or case the line belongs to.
    """

    subject_key: ClassVar[str]

    @classmethod
    def record(cls, subject, actor, action: str, from_status, to_status, *, at=None, **columns) -> None:
        db.session.add(
            cls(
                **{cls.subject_key: subject.id},
                actor_id=actor.id if actor else None,
                action=action,
                from_status=from_status,
                to_status=to_status,
                at=at or utcnow(),
                **columns,
            )
        )


@dataclass(frozen=True)
class Rule:
    sources: tuple[str, ...]
    who: str
    # What else the subject must be now, beside its state: (subject, now) → why not (a 409), or None.
    check: Callable[[object, datetime], Msg | None] | None = None


@dataclass
class Move:
    """One move under way: what its handler reads, and what it leaves for the timeline line."""

    user: object
    subject: object
    data: dict
    now: datetime
    note: str | None
    event: dict = field(default_factory=dict)  # the line's `data`
    columns: dict = field(default_factory=dict)  # other columns of the line (a wage case's public text)

    def need(self, name: str, zh: str | None = None, en: str | None = None):
        """The request's `name`; 422 naming the field when it is missing or empty."""
        value = self.data.get(name)
        if value in (None, "", []):
            raise Invalid(
                Msg(f"此操作需要 {zh or name}。", f"This action needs {en or name}."),
                errors={"json": {name: ["required"]}},
            )
        return value


class Workflow:
    """A table of moves and their handlers over one kind of subject (an issue, a wage case)."""

    def __init__(
        self,
        noun: Msg,
        states: type[State],
        rules: dict[str, Rule],
        refusal: Callable[[object, object, str], Msg | None],
        events: type[TimelineEvent],
    ):
        self.noun, self.states, self.rules, self.events = noun, states, rules, events
        self.refusal = refusal  # (user, subject, who) → why he may not, or None
        self.handlers: dict[str, Callable[[Move], None]] = {}

    def verbs(self) -> list[str]:
        return list(self.rules)

    def handles(self, verb: str):
        """Register the handler of `verb` (one short function per verb)."""

        def register(handler: Callable[[Move], None]):
            if verb not in self.rules or verb in self.handlers:
                raise ValueError(f"no rule for {verb}, or a second handler")
            self.handlers[verb] = handler
            return handler

        return register

    def offered(self, user, subject) -> list[str]:
        """The moves the subject's state allows and this user may take now; none without a user."""
        if user is None:
            return []
        now = None
        by_who: dict[str, bool] = {}
        offered = []
        for verb, rule in self.rules.items():
            if subject.status not in rule.sources:
                continue
            if rule.check is not None:
                now = now or utcnow()
                if rule.check(subject, now):
                    continue
            if rule.who not in by_who:
                by_who[rule.who] = self.refusal(user, subject, rule.who) is None
            if by_who[rule.who]:
                offered.append(verb)
        return offered

    def conflict(self, move: Move, message: Msg | None = None, allowed: list[str] | None = None) -> Conflict:
        """The 409 of a move the subject's state does not allow, naming the state and what is left."""
        subject, verb = move.subject, move.data["action"]
        allowed = self.offered(move.user, subject) if allowed is None else allowed
        if message is None:
            state = self.states(subject.status)
            listed_zh, listed_en = ", ".join(allowed) or "无", ", ".join(allowed) or "none"
            message = Msg(
                f"{self.noun.zh}当前为“{state.label.zh}”（{state.value}），不能执行“{verb}”；可执行：{listed_zh}。",
                f"The {self.noun.en} is {state.value}; {verb} is not allowed. Allowed: {listed_en}.",
            )
        return Conflict(message, state=subject.status, allowed_actions=allowed)

    def run(self, user, subject, data: dict, now: datetime | None = None) -> Move:
        """Check and apply one move to a subject loaded `for_update`; writes its timeline line.

        The caller commits.
        """
        verb = data["action"]
        rule = self.rules[verb]
        move = Move(user, subject, data, now or utcnow(), data.get("note"))
        if subject.status not in rule.sources:
            raise self.conflict(move)
        if rule.check and (why := rule.check(subject, move.now)):
            raise self.conflict(move, why)
        refused = self.refusal(user, subject, rule.who)
        if refused is not None:
            raise Forbidden(refused)
        before = subject.status
        self.handlers[verb](move)
        self.events.record(
            subject,
            user,
            verb,
            before,
            subject.status,
            at=move.now,
            note=move.note,
            data=move.event or None,
            **move.columns,
        )
        return move
