"""The demo page (server/static) and GraphiQL in a real headless Chromium, driven by Playwright.

The real app runs under uvicorn in a background thread on a free loopback port, over the
session's sample catalog. Chromium is Debian's ``/usr/bin/chromium`` (``.ci/run`` installs it);
Playwright's own browser downloads are never used. Every request that would leave the loopback
interface is aborted, so the tests behave the same with or without internet, and the demo page is
checked to need nothing from outside. Screenshots of each step go to ``test-artifacts/browser/``.

GraphiQL: /graphql serves a GraphiQL page whose React, GraphiQL and explorer assets are vendored
under server/static/graphiql/ (strawberry's own page loads them from unpkg.com and cannot start
offline). The GraphiQL test runs a query through the real editor and run button, with the same
outside-request blocking, so it proves the page needs nothing from the internet.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from data.catalog import Catalog
from server.settings import Settings

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
TIMEOUT_MS = 15_000


def _chromium() -> str | None:
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _graphql(base: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(f"{base}/graphql", json={"query": query, "variables": variables or {}},
                          timeout=30)
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture(scope="module")
def live_server(settings: Settings, catalog: Catalog) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    from server.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings, catalog), host="127.0.0.1",
                                           port=port, log_level="warning"))
    # Serving the already-bound socket leaves no window for another process to take the port.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="uvicorn-browser-tests")
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail(f"the test server on {base} did not become ready")
        time.sleep(0.1)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = _chromium()
    if executable is None:
        pytest.skip("headless Chromium is not installed (apt-get install -y chromium); "
                    "the browser tests need /usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        pytest.skip("the playwright package is not installed (uv sync installs the dev group)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Exception as exc:  # a broken install is a failure, not a skip
            pytest.fail(f"could not launch {executable}: {exc}")
        yield chromium
        chromium.close()


class Session:
    """One browser context: the page, screenshots, and what went wrong in it."""

    def __init__(self, browser: Any, base: str, name: str, viewport: dict[str, int]) -> None:
        self.base = base
        self.name = re.sub(r"[^\w.-]+", "-", name).strip("-")
        self.context = browser.new_context(viewport=viewport, device_scale_factor=1)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page_errors: list[str] = []
        self.blocked: list[str] = []
        self.context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), self._block)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.step = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def _block(self, route: Any) -> None:
        url = route.request.url
        if url.startswith("data:"):
            route.continue_()
            return
        self.blocked.append(url)
        route.abort("internetdisconnected")

    def shot(self, label: str, *, full_page: bool = True) -> Path:
        self.step += 1
        path = ARTIFACTS / f"{self.name}-{self.step:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def goto(self, hash_path: str) -> None:
        self.page.goto(f"{self.base}/#{hash_path}")

    def close(self) -> None:
        self.context.close()


def _label(device: str, request: pytest.FixtureRequest) -> str:
    return f"{device}-{request.node.name.removeprefix('test_')}"


@pytest.fixture
def desktop(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Session]:
    session = Session(browser, live_server, _label("desktop", request), DESKTOP)
    yield session
    session.close()
    assert not session.page_errors, session.page_errors


@pytest.fixture
def phone(browser: Any, live_server: str, request: pytest.FixtureRequest) -> Iterator[Session]:
    session = Session(browser, live_server, _label("phone", request), PHONE)
    yield session
    session.close()
    assert not session.page_errors, session.page_errors


def test_search_movie_actor_movie_and_back(desktop: Session) -> None:
    """The whole walk: search → Toy Story → Tom Hanks → another of his films → back, back."""
    from playwright.sync_api import expect

    page = desktop.page
    page.goto(f"{desktop.base}/")
    expect(page.get_by_test_id("release-chart")).to_be_visible()
    desktop.shot("home")

    search = page.get_by_test_id("search-input")
    search.click()
    search.press_sequentially("toy sto", delay=40)
    toy_story = page.get_by_test_id("search-result").filter(
        has=page.locator(".result-title", has_text=re.compile(r"^Toy Story$")))
    expect(toy_story).to_have_count(1)
    expect(page.get_by_test_id("search-group-people")).to_be_visible()
    desktop.shot("search-results", full_page=False)

    toy_story.click()
    expect(page).to_have_url(re.compile(r"#/movie/862$"))
    expect(page.get_by_test_id("movie-title")).to_have_text("Toy Story")
    expect(page.get_by_test_id("search-results")).to_be_hidden()
    cast = page.get_by_test_id("cast-item")
    expect(cast.first).to_be_visible()
    assert 1 <= cast.count() <= 15
    woody = cast.filter(has_text="Woody (voice)")
    expect(woody).to_have_count(1)
    expect(woody.get_by_test_id("cast-actor")).to_have_text("Tom Hanks")
    expect(page.get_by_test_id("movie-directors")).to_contain_text("John Lasseter")
    expect(page.get_by_test_id("movie-return")).to_contain_text("12.45")
    expect(page.get_by_test_id("recommendation").first).to_be_visible()
    desktop.shot("toy-story")

    woody.get_by_test_id("cast-actor").click()
    expect(page).to_have_url(re.compile(r"#/actor/31$"))
    expect(page.get_by_test_id("actor-name")).to_have_text("Tom Hanks")
    films = page.get_by_test_id("film-item")
    expect(films.first).to_be_visible()
    film_count = int(page.get_by_test_id("actor-film-count").locator(".stat-value").inner_text())
    assert films.count() == film_count >= 2
    expect(films.filter(has_text="Toy Story")).to_contain_text("1995")
    expect(page.get_by_test_id("actor-sentence")).to_contain_text("Tom Hanks")
    desktop.shot("tom-hanks")

    other = films.get_by_test_id("film-link").filter(has_not_text=re.compile(r"^Toy Story$"))
    title = other.first.inner_text()
    other.first.click()
    expect(page).to_have_url(re.compile(r"#/movie/\d+$"))
    expect(page.get_by_test_id("movie-title")).to_have_text(title)
    movie_id = int(page.url.rsplit("/", 1)[1])
    recommendations = page.get_by_test_id("recommendation")
    expect(recommendations.first).to_be_visible()

    # What the page shows is what the API answers for similar(n: 8).
    expected = _graphql(desktop.base, """query($id: Int!) { movie(id: $id) {
        similar(n: 8) { score reasons { kind names } movie { title } } } }""",
                        {"id": movie_id})["movie"]["similar"]
    assert expected, "the recommender returned nothing for this movie"
    expect(recommendations).to_have_count(len(expected))
    for card, rec in zip(recommendations.all(), expected, strict=True):
        expect(card.get_by_test_id("recommendation-title")).to_have_text(rec["movie"]["title"])
        expect(card.get_by_test_id("recommendation-score")).to_have_text(f"{rec['score']:.3f}")
        reasons = card.get_by_test_id("recommendation-reason")
        expect(reasons).to_have_count(len(rec["reasons"]))
        for shown, reason in zip(reasons.all(), rec["reasons"], strict=True):
            assert shown.get_attribute("data-kind") == reason["kind"]
            expect(shown).to_contain_text(", ".join(reason["names"]))
    assert any(rec["reasons"] for rec in expected), "no recommendation carries a reason"
    desktop.shot("other-movie")

    page.go_back()
    expect(page).to_have_url(re.compile(r"#/actor/31$"))
    expect(page.get_by_test_id("actor-name")).to_have_text("Tom Hanks")
    page.go_back()
    expect(page).to_have_url(re.compile(r"#/movie/862$"))
    expect(page.get_by_test_id("movie-title")).to_have_text("Toy Story")
    desktop.shot("back-to-toy-story")
    assert desktop.blocked == [], f"the demo page asked for outside resources: {desktop.blocked}"


def test_director_view_is_linked_and_linkable(desktop: Session) -> None:
    from playwright.sync_api import expect

    page = desktop.page
    desktop.goto("/movie/862")
    page.get_by_test_id("director-link").filter(has_text="John Lasseter").click()
    expect(page).to_have_url(re.compile(r"#/director/7879$"))
    expect(page.get_by_test_id("director-name")).to_have_text("John Lasseter")
    expect(page.get_by_test_id("director-sentence")).to_contain_text("John Lasseter")
    films = page.get_by_test_id("film-item")
    expect(films.filter(has_text="Toy Story")).to_contain_text("1995")
    count = int(page.get_by_test_id("director-film-count").locator(".stat-value").inner_text())
    expect(films).to_have_count(count)
    desktop.shot("john-lasseter")

    # A hash URL opened directly renders the same view (the views are linkable).
    page.reload()
    expect(page.get_by_test_id("director-name")).to_have_text("John Lasseter")


def test_release_chart_shows_the_api_counts(desktop: Session) -> None:
    from playwright.sync_api import expect

    page = desktop.page
    desktop.goto("/")
    chart = page.get_by_test_id("release-chart")
    months = chart.get_by_test_id("month-bar")
    weekdays = chart.get_by_test_id("weekday-bar")
    expect(months).to_have_count(12)
    expect(weekdays).to_have_count(7)
    aliases = [f'm{m}: releasesInMonth(month: "{m}") {{ count }}' for m in range(1, 13)]
    aliases += [f'd{d}: releasesOnWeekday(day: "{d}") {{ count }}' for d in range(1, 8)]
    data = _graphql(desktop.base, "{ " + " ".join(aliases) + " }")
    shown_months = [int(bar.get_attribute("data-count") or -1) for bar in months.all()]
    shown_days = [int(bar.get_attribute("data-count") or -1) for bar in weekdays.all()]
    assert shown_months == [data[f"m{m}"]["count"] for m in range(1, 13)]
    assert shown_days == [data[f"d{d}"]["count"] for d in range(1, 8)]
    heights = [bar.locator(".bar-fill").bounding_box()["height"] for bar in months.all()]
    tallest = shown_months.index(max(shown_months))
    assert heights[tallest] == max(heights) > 0
    chart.screenshot(path=str(ARTIFACTS / f"{desktop.name}-chart.png"))


def test_api_errors_are_shown_with_their_code(desktop: Session) -> None:
    from playwright.sync_api import expect

    page = desktop.page
    desktop.goto("/movie/999999999")
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error.get_by_test_id("error-code")).to_have_text("NOT_FOUND")
    expect(error.get_by_test_id("error-message")).to_contain_text("999999999")
    desktop.shot("movie-not-found")

    desktop.goto("/no/such/page")
    expect(page.get_by_test_id("error").get_by_test_id("error-code")).to_have_text("NOT_FOUND")


@pytest.mark.parametrize("view", ["/", "/movie/862", "/actor/31", "/director/7879",
                                  "/movie/999999999"])
def test_phone_layout_has_no_horizontal_overflow(phone: Session, view: str) -> None:
    from playwright.sync_api import expect

    page = phone.page
    phone.goto(view)
    expect(page.get_by_test_id("loading")).to_have_count(0)
    expect(page.locator("main > *").first).to_be_visible()
    if view == "/":
        search = page.get_by_test_id("search-input")
        search.fill("toy sto")
        expect(page.get_by_test_id("search-result").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.shot("search", full_page=False)
        search.press("Escape")
        expect(page.get_by_test_id("search-results")).to_be_hidden()
    width = page.evaluate("document.documentElement.scrollWidth")
    phone.shot(view.strip("/").replace("/", "-") or "home")
    assert width <= PHONE["width"], f"{view} is {width}px wide at {PHONE['width']}px"


def test_graphiql_runs_a_query_offline(desktop: Session) -> None:
    """GraphiQL starts from the vendored assets, runs a typed query and shows the answer."""
    from playwright.sync_api import expect

    page = desktop.page
    requests: list[str] = []
    failed: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    response = page.goto(f"{desktop.base}/graphql")
    assert response is not None and response.status == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in page.title().lower()

    editor = page.locator(".graphiql-query-editor .CodeMirror")
    expect(editor).to_be_visible()
    expect(editor).to_contain_text("Welcome to GraphiQL")
    desktop.shot("graphiql-started", full_page=False)

    query = '{ titleScore(title: "Toy Story") { sentence } }'
    page.evaluate("""query => document.querySelector('.graphiql-query-editor .CodeMirror')
        .CodeMirror.setValue(query)""", query)
    expect(editor).to_contain_text("titleScore")
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".graphiql-response")
    expect(result).to_contain_text("La película Toy Story fue estrenada en el año 1995")
    expect(result).not_to_contain_text('"errors"')
    desktop.shot("graphiql-result", full_page=False)

    # The page keeps strawberry's "query from the URL" feature: the edited query is in ?q=,
    # and opening that URL puts it back in the editor.
    assert "q=" in page.url
    page.reload()
    expect(editor).to_contain_text("titleScore")
    assert page.evaluate("""() => document.querySelector('.graphiql-query-editor .CodeMirror')
        .CodeMirror.getValue()""") == query

    assert desktop.blocked == [], f"GraphiQL asked for outside resources: {desktop.blocked}"
    outside = [url for url in requests
               if not url.startswith((f"{desktop.base}/", "data:"))]
    assert outside == [], outside
    assert any(url.endswith("/static/graphiql/graphiql.min.js") for url in requests), requests
    assert failed == [], failed
    assert desktop.page_errors == [], desktop.page_errors
