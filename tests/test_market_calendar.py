"""Market calendars as phones read them (icalendar): a moved day is the same event at a new time,
SEQUENCE counts changes, DTSTAMP is the last change, unchanged data gives the same bytes and 304;
the duty moves with the day and the team is told."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sxtwl
from icalendar import Calendar

from gridgov.timeutil import LOCAL_TZ


@pytest.fixture(autouse=True)
def late_november(clock):
    clock.set(datetime.combine(date(2026, 11, 25), time(10), LOCAL_TZ))
    return clock


@pytest.fixture
def town(make_user, auth_headers, two_towns, client):
    staff = auth_headers(make_user(roles=["staff"], areas=[two_towns["TA"]]))
    member = make_user(roles=["patrol"], areas=[two_towns["TA"]], display_name="陈刚")
    team = client.post(
        "/api/v1/patrol-teams",
        json={"name": "一队", "area_id": two_towns["TA"].id, "member_ids": [member.id]},
        headers=staff,
    ).get_json()
    market = client.post(
        "/api/v1/markets",
        json={"name": "杨庄集", "area_id": two_towns["CA"].id, "rule": "逢二"},
        headers=staff,
    ).get_json()
    url = f"/api/v1/markets/{market['id']}"
    days = client.get(f"{url}/occurrences?from=2026-12-01&to=2027-01-31", headers=staff).get_json()
    return {
        "staff": staff,
        "member": auth_headers(member),
        "team": team,
        "market": market,
        "url": url,
        "days": [d["date"] for d in days],
        "lunar": {d["date"]: d["lunar"] for d in days},
        "areas": two_towns,
    }


def fetch(client, town, **headers):
    return client.get(f"{town['url']}/calendar.ics", headers={**town["staff"], **headers})


def events(response) -> dict:
    return {str(e["UID"]): e for e in Calendar.from_ical(response.data).walk("VEVENT")}


def uid(town, day: str) -> str:
    return f"market-{town['market']['id']}-{day.replace('-', '')}@gridgov"


def test_unchanged_calendar_is_the_same_bytes_with_an_etag_and_304(client, town, late_november):
    first = fetch(client, town)
    late_november.advance(minutes=10)  # a later fetch (within the token's life)
    second = fetch(client, town)
    assert first.status_code == second.status_code == 200
    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    event = events(first)[uid(town, town["days"][0])]
    created = datetime.combine(date(2026, 11, 25), time(10), LOCAL_TZ).astimezone(UTC)
    assert event["DTSTAMP"].dt == event["LAST-MODIFIED"].dt == created  # the revision, not the fetch
    assert event["SEQUENCE"] == 0
    cached = fetch(client, town, **{"If-None-Match": first.headers["ETag"]})
    assert cached.status_code == 304 and cached.data == b""
    assert "杨庄集集" not in first.get_data(as_text=True)
    assert str(event["SUMMARY"]).startswith("杨庄集（农历")


def test_a_moved_day_keeps_its_uid_and_bumps_sequence(client, town, late_november):
    rule_day, next_day = town["days"][0], town["days"][1]
    new_day = (date.fromisoformat(rule_day) + timedelta(days=1)).isoformat()
    assign = client.post(
        f"{town['url']}/assignments",
        json={"team_ids": [town["team"]["id"]], "date": rule_day},
        headers=town["staff"],
    )
    assert assign.status_code == 201
    before = fetch(client, town)
    late_november.advance(minutes=5)
    moved_at = late_november.moment.astimezone(UTC)
    move = client.post(
        f"{town['url']}/exceptions",
        json={"action": "move", "date": rule_day, "new_date": new_day, "reason": "与庙会错开"},
        headers=town["staff"],
    )
    assert move.status_code == 201, move.get_json()
    after = fetch(client, town)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert fetch(client, town, **{"If-None-Match": before.headers["ETag"]}).status_code == 200
    old, new = events(before), events(after)
    assert set(old) == set(new)  # no cancelled day and new one: the same events
    assert uid(town, new_day) not in new
    event = new[uid(town, rule_day)]
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event["DTSTART"].dt == datetime.combine(date.fromisoformat(new_day), time(7), LOCAL_TZ)
    assert str(event["DTSTART"].params["TZID"]) == "Asia/Shanghai"
    assert event["SEQUENCE"] == old[uid(town, rule_day)]["SEQUENCE"] + 1
    assert event["DTSTAMP"].dt == event["LAST-MODIFIED"].dt == moved_at
    assert old[uid(town, rule_day)]["DTSTAMP"].dt < moved_at
    # Labelled by the rule day it replaces (a 逢二 day), not by the new date's lunar day.
    rule_lunar = town["lunar"][rule_day]
    held = [sxtwl.fromSolar(*map(int, day.split("-"))) for day in (rule_day, new_day)]  # an outside check
    assert rule_lunar["day"] == held[0].getLunarDay() and held[0].getLunarDay() in (2, 12, 22)
    assert held[1].getLunarDay() != held[0].getLunarDay()
    assert f"农历{rule_lunar['name']}" in str(event["SUMMARY"]) and "杨庄集集" not in str(event["SUMMARY"])
    day_after = client.get(f"{town['url']}/occurrences?from={new_day}&to={new_day}", headers=town["staff"])
    moved_in = day_after.get_json()[0]
    assert moved_in["lunar"]["name"] != rule_lunar["name"] and moved_in["rule_lunar"] == rule_lunar
    assert f"农历{moved_in['lunar']['name']}" not in str(event["SUMMARY"])
    # Other days did not change.
    assert new[uid(town, next_day)].to_ical() == old[uid(town, next_day)].to_ical()


def test_the_duty_moves_with_the_day_and_the_team_is_told(client, town):
    rule_day = town["days"][0]
    new_day = (date.fromisoformat(rule_day) + timedelta(days=1)).isoformat()
    team_id = town["team"]["id"]
    client.post(
        f"{town['url']}/assignments", json={"team_ids": [team_id], "date": rule_day}, headers=town["staff"]
    )
    client.post(
        f"{town['url']}/exceptions",
        json={"action": "move", "date": rule_day, "new_date": new_day, "reason": "与庙会错开"},
        headers=town["staff"],
    )
    days = client.get(
        f"{town['url']}/occurrences?from={rule_day}&to={new_day}", headers=town["staff"]
    ).get_json()
    by_date = {d["date"]: d for d in days}
    assert by_date[rule_day]["status"] == "moved" and by_date[rule_day]["teams"] == []
    assert [t["id"] for t in by_date[new_day]["teams"]] == [team_id]
    told = client.get("/api/v1/me/notifications", headers=town["member"]).get_json()
    assert any(rule_day in n["title"] and new_day in n["title"] for n in told), told
    token = client.post(f"/api/v1/patrol-teams/{team_id}/feed-token", headers=town["staff"]).get_json()[
        "token"
    ]
    feed = client.get(f"/api/v1/patrol-teams/{team_id}/calendar.ics?token={token}")
    duty = events(feed)
    assert list(duty) == [uid(town, rule_day)]
    assert duty[uid(town, rule_day)]["DTSTART"].dt.date() == date.fromisoformat(new_day)
    assert "值守：一队" in str(duty[uid(town, rule_day)]["DESCRIPTION"])


def test_undo_cancel_and_new_hours_each_bump_sequence(client, town, late_november):
    rule_day, other = town["days"][0], town["days"][1]
    new_day = (date.fromisoformat(rule_day) + timedelta(days=1)).isoformat()
    team_id = town["team"]["id"]
    client.post(
        f"{town['url']}/assignments", json={"team_ids": [team_id], "date": rule_day}, headers=town["staff"]
    )
    move = client.post(
        f"{town['url']}/exceptions",
        json={"action": "move", "date": rule_day, "new_date": new_day, "reason": "与庙会错开"},
        headers=town["staff"],
    ).get_json()
    late_november.advance(minutes=5)
    assert client.delete(f"{town['url']}/exceptions/{move['id']}", headers=town["staff"]).status_code == 204
    cancel = client.post(
        f"{town['url']}/exceptions",
        json={"action": "cancel", "date": other, "reason": "寒潮"},
        headers=town["staff"],
    )
    assert cancel.status_code == 201
    now = events(fetch(client, town))
    back = now[uid(town, rule_day)]
    assert back["SEQUENCE"] == 2 and back["DTSTART"].dt.date() == date.fromisoformat(rule_day)
    assert str(now[uid(town, other)]["STATUS"]) == "CANCELLED" and now[uid(town, other)]["SEQUENCE"] == 1
    day = client.get(
        f"{town['url']}/occurrences?from={rule_day}&to={rule_day}", headers=town["staff"]
    ).get_json()
    assert [t["id"] for t in day[0]["teams"]] == [team_id]  # the duty came back with the day
    untouched = town["days"][2]
    assert now[uid(town, untouched)]["SEQUENCE"] == 0
    late_november.advance(minutes=5)
    changed_at = late_november.moment.astimezone(UTC)
    assert client.patch(town["url"], json={"start_time": "08:00"}, headers=town["staff"]).status_code == 200
    later = events(fetch(client, town))
    assert later[uid(town, untouched)]["SEQUENCE"] == 1 and later[uid(town, rule_day)]["SEQUENCE"] == 3
    assert later[uid(town, untouched)]["DTSTART"].dt.hour == 8
    assert later[uid(town, untouched)]["LAST-MODIFIED"].dt == changed_at
    renamed = client.patch(town["url"], json={"name": "杨庄"}, headers=town["staff"])
    assert renamed.status_code == 200
    last = events(fetch(client, town))
    assert last[uid(town, untouched)]["SEQUENCE"] == 1  # a new name is not a new time
    assert str(last[uid(town, untouched)]["SUMMARY"]).startswith("杨庄集（农历")


def test_a_move_that_would_put_the_team_in_two_places_is_refused(client, town):
    rule_day = town["days"][0]
    new_day = (date.fromisoformat(rule_day) + timedelta(days=1)).isoformat()
    weekday = date.fromisoformat(new_day).isoweekday()
    rival = client.post(
        "/api/v1/markets",
        json={
            "name": "东村",
            "area_id": town["areas"]["CA"].id,
            "rule": {"calendar": "weekly", "weekdays": [weekday]},
        },
        headers=town["staff"],
    ).get_json()
    team_id = town["team"]["id"]
    assert (
        client.post(
            f"/api/v1/markets/{rival['id']}/assignments",
            json={"team_ids": [team_id], "date": new_day},
            headers=town["staff"],
        ).status_code
        == 201
    )
    client.post(
        f"{town['url']}/assignments", json={"team_ids": [team_id], "date": rule_day}, headers=town["staff"]
    )
    before = fetch(client, town)
    move = client.post(
        f"{town['url']}/exceptions",
        json={"action": "move", "date": rule_day, "new_date": new_day, "reason": "与庙会错开"},
        headers=town["staff"],
    )
    assert move.status_code == 409 and "东村" in move.get_json()["message"]
    assert fetch(client, town).data == before.data  # nothing moved, nothing bumped
    assert client.get("/api/v1/me/notifications", headers=town["member"]).get_json() == []


def test_the_spec_documents_the_etag_and_304(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/markets/{market_id}/calendar.ics", "/api/v1/patrol-teams/{team_id}/calendar.ics"):
        responses = paths[path]["get"]["responses"]
        assert "304" in responses and "ETag" in responses["200"]["headers"]
