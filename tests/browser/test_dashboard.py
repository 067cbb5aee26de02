"""The dashboard, in headless Chromium, against the local stack: what a person sees and does.

Events are posted over HTTP, as hook clients send them; the page gets them from history (HTTP) or
live (WebSocket, through the stream and the broadcast function). The stack is shared, so each test
uses sessions of its own and checks rows by eventId.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.scenario import realistic_events
from tests.browser.support import (
    LIVE_SECONDS,
    Dashboard,
    Watch,
    drop_connection,
    open_connections,
    post_events,
    start_again,
    wait_until,
)
from tests.e2e.conftest import RunningStack, make_token, start_stack

pytestmark = pytest.mark.e2e
MS = 1000.0


def session_id(label: str) -> str:
    return f"browser-{label}-{uuid.uuid4().hex[:10]}"


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(
    session: str,
    name: str = "PreToolUse",
    *,
    at: datetime | None = None,
    machine: str = "test-machine",
    project: str = "test-project",
    **data: Any,
) -> dict[str, Any]:
    return {
        "timestamp": stamp(at or datetime.now(UTC)),
        "event": name,
        "sessionId": session,
        "source": {"machine": machine, "project": project},
        "data": data or {"tool_name": "Read", "tool_input": {"file_path": "README.md"}},
    }


def ids(stored: list[dict[str, Any]]) -> list[str]:
    return [str(item["eventId"]) for item in stored]


def test_page_is_public_and_strict_while_the_data_needs_a_token(stack: RunningStack):
    # GIVEN the local stack
    # WHEN the page and one of its assets are fetched with no token, and the data too
    page = stack.request("GET", "/", token=None)
    html = page.body.decode()
    asset_path = re.search(r'src="(dashboard/[0-9a-f]+/app\.js)"', html)
    assert asset_path, html
    script = stack.request("GET", f"/{asset_path.group(1)}", token=None)
    again = stack.request("GET", "/", headers={"If-None-Match": page.headers["ETag"]}, token=None)
    data = stack.request("GET", "/api/claude-events", token=None)
    version = asset_path.group(1).split("/")[1]
    missing = [stack.request("GET", f"/dashboard/{version}/{name}", token=None) for name in ("app.py", "index.html")]

    # THEN the page is served, revalidated each load, with a CSP that allows this origin and the
    # WebSocket's only, no inline script and no framing
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-cache"
    csp = page.headers["Content-Security-Policy"]
    ws_origin = re.match(r"ws://[^/]+", stack.ws_url)
    assert ws_origin
    assert f"connect-src 'self' {ws_origin.group(0)}" in csp
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline script"
    assert f'content="{stack.ws_url}"' in html
    # AND the versioned asset is cached for good, the page answers 304 when unchanged
    assert script.status == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in script.headers["Cache-Control"]
    assert again.status == 304
    # AND the data still needs a token; nothing else on disk is reachable
    assert data.status == 401
    assert [answer.status for answer in missing] == [404, 404]


def test_history_then_live_events_appear_newest_first(dashboard: Dashboard, stack: RunningStack):
    # GIVEN an event stored before the page is opened
    session = session_id("live")
    now = datetime.now(UTC)
    before = post_events(stack, [event(session, "SessionStart", at=now - timedelta(seconds=5), source="startup")])

    # WHEN the page opens with the token, and then two more events are posted
    dashboard.open()
    dashboard.wait_rows(ids(before))
    during = post_events(
        stack,
        [
            event(session, "UserPromptSubmit", at=now - timedelta(seconds=2), prompt="Summarise the README"),
            event(session, "PreToolUse", at=now - timedelta(seconds=1), machine="laptop-7", tool_name="Read"),
        ],
    )

    # THEN they appear live, newest at the top, with time, event type, tool, session and machine
    dashboard.wait_rows(ids(during))
    order = [item for item in dashboard.row_ids() if item in set(ids(before + during))]
    assert order == list(reversed(ids(before + during)))
    newest = dashboard.row(ids(during)[1])
    expect(newest.locator(".name")).to_have_text("PreToolUse")
    expect(newest.locator(".tool")).to_have_text("Read")
    expect(newest.locator(".machine-cell")).to_have_text("laptop-7")
    expect(newest.locator(".session-cell")).to_contain_text("test-project")
    expect(newest.locator(".time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    expect(dashboard.row(ids(during)[0]).locator(".summary")).to_have_text("Summarise the README")
    # AND the token is kept in the browser, never in the page's URL
    assert "token" not in dashboard.page.url
    assert dashboard.page.evaluate("localStorage.getItem('claude-events.token')") == stack.token


def test_filters_search_and_session_selection(dashboard: Dashboard, stack: RunningStack):
    # GIVEN two sessions on two machines with several event types and tools
    first, second = session_id("one"), session_id("two")
    now = datetime.now(UTC)
    stored = post_events(
        stack,
        [
            event(
                first,
                "PreToolUse",
                at=now - timedelta(seconds=9),
                machine="m-one",
                tool_name="Bash",
                tool_input={"command": "make lint"},
            ),
            event(
                first,
                "PostToolUse",
                at=now - timedelta(seconds=8),
                machine="m-one",
                tool_name="Bash",
                tool_input={"command": "make lint"},
            ),
            event(
                first,
                "UserPromptSubmit",
                at=now - timedelta(seconds=7),
                machine="m-one",
                prompt="find the flaky zebra test",
            ),
            event(
                second,
                "PreToolUse",
                at=now - timedelta(seconds=6),
                machine="m-two",
                project="other",
                tool_name="Read",
                tool_input={"file_path": "a.py"},
            ),
            event(
                second,
                "PermissionRequest",
                at=now - timedelta(seconds=5),
                machine="m-two",
                project="other",
                tool_name="Bash",
                tool_input={"command": "rm -rf build"},
            ),
        ],
    )
    first_ids, second_ids = set(ids(stored[:3])), set(ids(stored[3:]))
    dashboard.open()
    dashboard.wait_rows(first_ids | second_ids)
    page = dashboard.page

    def shown() -> list[dict[str, str]]:
        return page.locator("#stream-body tr").evaluate_all("rows => rows.map(row => ({...row.dataset}))")

    def shown_ids() -> set[str]:
        return {row["eventId"] for row in shown()} & (first_ids | second_ids)

    # WHEN filtering by event type THEN only that type is shown
    page.select_option("#filter-event", "PreToolUse")
    expect(dashboard.row(ids(stored)[2])).to_have_count(0)
    assert {row["event"] for row in shown()} == {"PreToolUse"}
    assert shown_ids() == {ids(stored)[0], ids(stored)[3]}

    # WHEN filtering by tool as well THEN only that tool's events of that type
    page.select_option("#filter-tool", "Bash")
    expect(dashboard.row(ids(stored)[3])).to_have_count(0)
    assert {(row["event"], row["tool"]) for row in shown()} == {("PreToolUse", "Bash")}
    assert shown_ids() == {ids(stored)[0]}

    # WHEN the filters are cleared and the text is searched THEN the match in the payload is found
    page.select_option("#filter-event", "")
    page.select_option("#filter-tool", "")
    page.fill("#filter-text", "flaky ZEBRA")
    expect(dashboard.rows()).to_have_count(1)
    assert shown_ids() == {ids(stored)[2]}
    page.fill("#filter-text", "")

    # WHEN only failures and permission requests are asked for THEN the permission request is shown
    page.check("#filter-attention")
    expect(dashboard.row(ids(stored)[4])).to_be_visible()
    assert shown_ids() == {ids(stored)[4]}
    page.uncheck("#filter-attention")

    # WHEN a session is picked in the session list (grouped by machine)
    machine = page.locator('#session-list .machine[data-machine="m-two"]')
    expect(machine.locator(f'button[data-session-id="{second}"]')).to_be_visible()
    expect(machine.locator(".project").first).to_have_text("other")
    dashboard.session(second).click()

    # THEN the stream shows only that session, until "All sessions" is picked again
    expect(dashboard.row(ids(stored)[0])).to_have_count(0)
    assert {row["sessionId"] for row in shown()} == {second}
    assert shown_ids() == second_ids
    expect(dashboard.session(second)).to_have_attribute("aria-pressed", "true")
    assert f"#session={second}" in page.url
    page.click("#all-sessions")
    dashboard.wait_rows(first_ids)
    assert shown_ids() == first_ids | second_ids


def test_tool_calls_are_paired_with_their_duration_and_problems_stand_out(dashboard: Dashboard, stack: RunningStack):
    # GIVEN tool calls paired by tool_use_id, a failure, a permission request and a call still running
    session = session_id("pairs")
    start = datetime.now(UTC) - timedelta(seconds=30)
    tool_input = {"command": "pytest -q"}
    stored = post_events(
        stack,
        [
            event(session, "PreToolUse", at=start, tool_name="Bash", tool_input=tool_input, tool_use_id="toolu_ok"),
            event(
                session,
                "PostToolUse",
                at=start + timedelta(milliseconds=1234),
                tool_name="Bash",
                tool_input=tool_input,
                tool_use_id="toolu_ok",
                tool_response={"stdout": "ok"},
            ),
            event(
                session,
                "PreToolUse",
                at=start + timedelta(seconds=2),
                tool_name="Bash",
                tool_input=tool_input,
                tool_use_id="toolu_bad",
            ),
            event(
                session,
                "PostToolUseFailure",
                at=start + timedelta(seconds=2, milliseconds=250),
                tool_name="Bash",
                tool_input=tool_input,
                tool_use_id="toolu_bad",
                error="Exit code 2",
            ),
            event(
                session,
                "PermissionRequest",
                at=start + timedelta(seconds=3),
                tool_name="Bash",
                tool_input={"command": "git push"},
            ),
            event(session, "StopFailure", at=start + timedelta(seconds=4), error="rate_limit"),
            event(
                session,
                "PermissionDenied",
                at=start + timedelta(seconds=5),
                tool_name="Bash",
                reason="denied by policy",
            ),
            event(
                session,
                "PreToolUse",
                at=start + timedelta(seconds=6),
                tool_name="Read",
                tool_input={"file_path": "x.py"},
                tool_use_id="toolu_running",
            ),
        ],
    )
    pre_ok, post_ok, pre_bad, failure, permission, stop_failure, denied, running = ids(stored)

    # WHEN the page shows them
    dashboard.open()
    dashboard.wait_rows(ids(stored))

    # THEN both halves of a call show the tool's duration, and an unfinished call is running
    expect(dashboard.row(pre_ok).locator(".duration")).to_have_text("1.2 s")
    expect(dashboard.row(post_ok).locator(".duration")).to_have_text("1.2 s")
    expect(dashboard.row(pre_bad).locator(".duration")).to_have_text("250 ms")
    expect(dashboard.row(failure).locator(".duration")).to_have_text("250 ms")
    expect(dashboard.row(running).locator(".duration")).to_have_text("running…")
    # AND failures and permission requests are highlighted
    for failed in (failure, stop_failure, denied):
        expect(dashboard.row(failed)).to_have_class(re.compile(r"\bfailure\b"))
    expect(dashboard.row(permission)).to_have_class(re.compile(r"\bpermission\b"))
    expect(dashboard.row(post_ok)).not_to_have_class(re.compile(r"\b(failure|permission)\b"))
    expect(dashboard.row(failure).locator(".summary")).to_have_text("Exit code 2")
    # AND the session counts them
    expect(dashboard.session(session)).to_contain_text("3 failed")

    # WHEN a call is clicked THEN its JSON is shown with the duration, and the other half is a click away
    dashboard.row(post_ok).click()
    detail = dashboard.page.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail.locator("#detail-pair")).to_contain_text("Bash took 1.2 s")
    expect(detail.locator("#detail-json")).to_contain_text('"tool_use_id": "toolu_ok"')
    detail.get_by_role("button", name="Show its PreToolUse").click()
    expect(dashboard.row(pre_ok)).to_have_class(re.compile(r"\bselected\b"))


MARKUP = '<script>alert(1)</script><img src=x onerror="window.__xss=1;alert(2)">'


def test_untrusted_payloads_render_as_text(dashboard: Dashboard, stack: RunningStack, watch: Watch):
    # GIVEN markup in a prompt, a tool name, a tool input and the machine and project, one event in
    # history and one live
    session = session_id("xss")
    now = datetime.now(UTC)
    hostile = {"machine": f"m{MARKUP}", "project": f"p{MARKUP}"}
    history = post_events(
        stack, [event(session, "UserPromptSubmit", at=now - timedelta(seconds=3), prompt=MARKUP, **hostile)]
    )
    dashboard.open()
    dashboard.wait_rows(ids(history))
    live = post_events(
        stack,
        [
            event(
                session,
                "PreToolUse",
                at=now - timedelta(seconds=1),
                tool_name=f"T{MARKUP}",
                tool_input={"command": MARKUP},
                **hostile,
            ),
        ],
    )
    dashboard.wait_rows(ids(live))
    page = dashboard.page

    # THEN the markup is shown as text, wherever it is
    expect(dashboard.row(ids(history)[0]).locator(".summary")).to_have_text(MARKUP)
    expect(dashboard.row(ids(live)[0]).locator(".summary")).to_have_text(MARKUP)
    expect(dashboard.row(ids(live)[0]).locator(".tool")).to_have_text(f"T{MARKUP}")
    expect(dashboard.row(ids(live)[0]).locator(".machine-cell")).to_have_text(f"m{MARKUP}")
    expect(dashboard.session(session).locator(".project")).to_have_text(f"p{MARKUP}")
    page.select_option("#filter-tool", f"T{MARKUP}")
    expect(dashboard.rows()).to_have_count(1)
    dashboard.row(ids(live)[0]).click()
    expect(page.locator("#detail-json")).to_contain_text('"command": "<script>alert(1)</script><img src=x onerror=')

    # AND nothing was injected or run: no dialog, no <img> or extra <script>, no side effect
    page.wait_for_timeout(300)
    assert watch.dialogs == []
    assert page.locator("img").count() == 0
    assert page.evaluate("document.scripts.length") == 1
    assert page.evaluate("window.__xss") is None


def test_a_truncated_event_is_fetched_in_full_when_opened(dashboard: Dashboard, stack: RunningStack):
    # GIVEN a page that is live, and an event too large for one WebSocket message
    session = session_id("big")
    dashboard.open()
    big = "x" * 200_000 + "END-OF-OUTPUT"
    stored = post_events(stack, [event(session, "PostToolUse", tool_name="Bash", tool_response={"stdout": big})])
    row = dashboard.row(ids(stored)[0])

    # WHEN it arrives (cut to fit, marked truncated) and is clicked
    expect(row).to_be_visible(timeout=LIVE_SECONDS * MS)
    expect(row.locator(".tag")).to_have_text("truncated")
    row.click()

    # THEN the full event is fetched over HTTP and shown
    note = dashboard.page.locator("#detail-note")
    expect(note).to_have_text("Arrived truncated; this is the full event, fetched over HTTP.")
    expect(dashboard.page.locator("#detail-json")).to_contain_text("END-OF-OUTPUT")
    expect(row.locator(".tag")).to_have_count(0)


def test_a_dropped_connection_recovers_without_duplicates(dashboard: Dashboard, stack: RunningStack):
    # GIVEN a live page that has shown some events
    session = session_id("drop")
    before_open = set(open_connections(stack))
    dashboard.open()
    first = post_events(stack, [event(session, "UserPromptSubmit", prompt="first")])
    dashboard.wait_rows(ids(first))
    mine = wait_until(lambda: [c for c in open_connections(stack) if c not in before_open])
    assert len(mine) == 1, mine

    # WHEN the server drops its connection, an event is posted while it is gone, and more after
    assert drop_connection(stack, mine[0]) == 204
    meanwhile = post_events(stack, [event(session, "PreToolUse", tool_name="Grep")])
    dashboard.wait_live()
    wait_until(lambda: [c for c in open_connections(stack) if c not in before_open and c != mine[0]])
    after = post_events(stack, [event(session, "PostToolUse", tool_name="Grep"), event(session, "Stop")])

    # THEN it reconnects by itself, and every event is shown once: none lost, none repeated
    dashboard.wait_rows(ids(meanwhile + after))
    dashboard.page.wait_for_timeout(1500)  # any late re-delivery (history, resync) has landed
    shown = dashboard.row_ids()
    assert len(shown) == len(set(shown)), shown
    assert set(ids(first + meanwhile + after)) <= set(shown)
    expect(dashboard.page.locator("#alert")).to_be_hidden()


def test_the_page_says_when_the_api_is_unreachable_and_recovers_after_a_restart(page: Page, tmp_path: Path):
    # GIVEN a live page on a stack of its own, showing an event
    first = start_stack(tmp_path)
    stacks = [first]
    try:
        dashboard = Dashboard(page, first).open()
        session = session_id("restart")
        before = post_events(first, [event(session, "UserPromptSubmit", prompt="before the restart")])
        dashboard.wait_rows(ids(before))

        # WHEN the stack stops
        first.stop()

        # THEN the page says the API cannot be reached, and is not live
        alert = page.locator("#alert")
        expect(alert).to_contain_text("Cannot reach the API", timeout=LIVE_SECONDS * MS)
        expect(page.locator("#status")).to_have_attribute("data-state", "offline")

        # WHEN it comes back on the same ports (empty, as a restarted local stack is)
        second = start_again(first, tmp_path)
        stacks.append(second)

        # THEN the page reconnects by itself, keeps what it showed, and shows new events once
        dashboard.wait_live(timeout=30)
        expect(alert).to_be_hidden()
        after = post_events(second, [event(session, "Stop")])
        dashboard.wait_rows(ids(before + after))
        shown = dashboard.row_ids()
        assert len(shown) == len(set(shown)), shown
    finally:
        for running in stacks:
            running.stop()


def test_a_bad_token_is_refused_with_a_clear_message(dashboard: Dashboard, stack: RunningStack):
    page = dashboard.page
    # WHEN the page is given a token the service does not know
    dashboard.open(make_token(), wait_live=False)

    # THEN it says so, asks again, and forgets the token
    error = page.locator("#login-error")
    expect(error).to_contain_text("refused this token (401 Unauthorized)")
    expect(page.locator("#token")).to_be_visible()
    assert page.evaluate("localStorage.getItem('claude-events.token')") is None

    # WHEN it is given a token without the read scope THEN it says what is missing
    ingest_only = stack.mint(f"browser-ingest-{uuid.uuid4().hex[:8]}", ["ingest"])
    page.fill("#token", ingest_only)
    page.get_by_role("button", name="Connect").click()
    expect(error).to_contain_text("403 Forbidden")
    expect(error).to_contain_text("read scope")


def test_a_refused_websocket_is_reported(dashboard: Dashboard, stack: RunningStack):
    # GIVEN a live page whose token is then revoked (HTTP answers stay cached for a while; a
    # WebSocket connect is checked every time)
    name = f"browser-revoked-{uuid.uuid4().hex[:8]}"
    token = stack.mint(name, ["read"])
    before_open = set(open_connections(stack))
    dashboard.open(token)
    mine = wait_until(lambda: [c for c in open_connections(stack) if c not in before_open])
    stack.revoke(name)

    # WHEN the connection drops and the reconnect is refused
    drop_connection(stack, mine[0])

    # THEN the page says the live connection was refused, and is not live
    alert = dashboard.page.locator("#alert")
    expect(alert).to_contain_text("live connection was refused", timeout=LIVE_SECONDS * MS)
    expect(dashboard.page.locator("#status")).not_to_have_attribute("data-state", "live")


def test_the_store_is_bounded_and_deduplicates(page: Page, stack: RunningStack):
    # GIVEN the page's own event store module, with room for 50 events
    page.goto(f"{stack.base_url}/")
    module = page.locator('script[type="module"]').get_attribute("src")
    assert module
    store_url = module.replace("app.js", "store.js")

    # WHEN 120 events arrive, then all of them again, then a full copy of a truncated one
    result = page.evaluate(
        """async (url) => {
            const { EventStore } = await import(new URL(url, document.baseURI).href);
            const store = new EventStore(50);
            const make = (i, extra = {}) => ({
                eventId: `e${String(i).padStart(4, "0")}`, sessionId: "s", event: "Stop",
                timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), data: {}, ...extra });
            const events = Array.from({ length: 120 }, (_, i) => make(i, i === 100 ? { truncated: true } : {}));
            store.merge(events);
            const again = store.merge(events.slice().reverse());
            const replaced = store.merge([make(100)]);
            return { size: store.size, again, replaced, newest: store.list[0].id, oldest: store.list.at(-1).id,
                     truncated: store.get("e0100").truncated };
        }""",
        store_url,
    )

    # THEN only the newest 50 are kept, repeats change nothing, and the full copy replaces the cut one
    assert result == {
        "size": 50,
        "again": 0,
        "replaced": 1,
        "newest": "e0119",
        "oldest": "e0070",
        "truncated": False,
    }


def test_realistic_session_renders(dashboard: Dashboard, stack: RunningStack, tmp_path: Path):
    # GIVEN a realistic half hour of five sessions on two machines
    events = realistic_events()
    suffix = uuid.uuid4().hex[:6]
    for item in events:
        item["sessionId"] = f"{item['sessionId']}-{suffix}"
    stored = post_events(stack, events)
    dashboard.open()
    dashboard.wait_rows(ids(stored[-3:]))
    page = dashboard.page

    # THEN the sessions are grouped by machine and project, with the active ones marked
    for machine in ("alice-mbp", "ci-runner-07"):
        expect(page.locator(f'#session-list .machine[data-machine="{machine}"]')).to_be_visible()
    infra = dashboard.session(f"a71d0c55-2e8b-4f6a-9d13-7c4b2e9f0a86-{suffix}")
    expect(infra.locator(".project")).to_have_text("infra")
    expect(infra.locator(".badge")).to_have_text("active")
    ended = dashboard.session(f"c2e94b10-77f1-4a0e-8d5c-31b6f0e2d4a9-{suffix}")
    expect(ended.locator(".badge")).to_have_text("ended")
    # AND the failed test run shows how long it took
    failed = [
        item
        for item in stored
        if item["event"] == "PostToolUseFailure" and item["data"]["tool_input"]["command"] == "pytest tests/orders -q"
    ]
    expect(dashboard.row(str(failed[0]["eventId"])).locator(".duration")).to_have_text("8.4 s")
    # AND the chart has something to say
    expect(page.locator("#chart-summary")).to_contain_text(re.compile(r"[1-9]\d* events in the last 30 minutes"))
    page.screenshot(path=str(tmp_path / "dashboard.png"))
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
