"""The demo page (server/static) and GraphiQL in a real headless Chromium, driven by Playwright.

The real app runs under uvicorn in a background thread on a free loopback port, over the
session's sample catalog. Chromium is Debian's ``/usr/bin/chromium`` (``.ci/run`` installs it);
Playwright's own browser downloads are never used. Every request that would leave the loopback
interface is aborted, so the tests behave the same with or without internet, and the demo page is
checked to need nothing from outside but TMDB's poster and profile images, which it asks for and
replaces with a placeholder when they cannot load (what these offline tests see). Screenshots
of each step go to ``test-artifacts/browser/``.

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
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 375, "height": 812}
TIMEOUT_MS = 15_000
IMAGES = "https://image.tmdb.org/t/p/"


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

    def outside(self) -> list[str]:
        """Blocked requests other than TMDB images (the only outside URLs the page uses)."""
        return [url for url in self.blocked if not url.startswith(IMAGES)]

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
    assert desktop.outside() == [], f"the demo page asked for outside resources: {desktop.blocked}"


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
    labels = [label.inner_text() for label in chart.get_by_test_id("month-bar-label").all()]
    assert labels == ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                      "Nov", "Dec"]
    days = [label.inner_text() for label in chart.get_by_test_id("weekday-bar-label").all()]
    assert days == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
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


@pytest.mark.parametrize("view", ["/", "/movie/862", "/movie/949", "/actor/31",
                                  "/director/7879", "/movie/999999999",
                                  "/browse?genre=Animation", "/search?q=heat"])
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
    # Stat tiles keep each value on one line ("$373.6M" never breaks).
    wrapped = page.evaluate("""() => [...document.querySelectorAll('.stat-value')]
        .filter((el) => el.offsetHeight > 1.5 * parseFloat(getComputedStyle(el).lineHeight)
                        || el.scrollWidth > el.clientWidth + 1)
        .map((el) => el.textContent)""")
    assert wrapped == [], f"stat values wrap or overflow at phone width: {wrapped}"
    width = page.evaluate("document.documentElement.scrollWidth")
    phone.shot(re.sub(r"\W+", "-", view).strip("-") or "home")
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
    # It opens on this API's examples, one per tab, and the first one runs as it is.
    expect(editor).to_contain_text('actor(name: "Tom Hanks")')
    tabs = page.locator(".graphiql-tab")
    expect(tabs).to_have_count(4)
    for name in ("ActorMoviesCast", "Recommendations", "ReleasesInMonth", "Browse"):
        expect(tabs.filter(has_text=name)).to_have_count(1)
    desktop.shot("graphiql-started", full_page=False)
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".graphiql-response")
    expect(result).to_contain_text("El actor Tom Hanks ha participado")
    expect(result).not_to_contain_text('"errors"')
    tabs.filter(has_text="ReleasesInMonth").click()
    page.locator(".graphiql-execute-button").click()
    expect(result).to_contain_text("septiembre")
    expect(result).not_to_contain_text('"errors"')
    assert page.evaluate("document.querySelector('meta[name=viewport]') !== null")
    # A new tab for a query of our own (the example tabs keep their operation names).
    page.locator(".graphiql-tab-add").click()
    expect(tabs).to_have_count(5)

    query = '{ titleScore(title: "Toy Story") { sentence } }'
    # The new tab's editor is rendered (its default text) before it is written to; and the
    # value is written again until it holds, since GraphiQL may still restore the tab's
    # stored state into it just after the switch (a CI run once saw the default text stay).
    expect(editor).to_contain_text("Welcome to GraphiQL")
    for _ in range(20):
        held = page.evaluate("""query => {
            const editor = document.querySelector('.graphiql-query-editor .CodeMirror');
            editor.CodeMirror.setValue(query);
            return editor.CodeMirror.getValue();
        }""", query)
        page.wait_for_timeout(100)
        if held == query and page.evaluate("""() => document.querySelector(
                '.graphiql-query-editor .CodeMirror').CodeMirror.getValue()""") == query:
            break
    expect(editor).to_contain_text("titleScore")
    page.locator(".graphiql-execute-button").click()
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


def test_poster_placeholder_when_the_image_cannot_load(desktop: Session) -> None:
    from playwright.sync_api import expect

    page = desktop.page
    expected = _graphql(desktop.base, "{ movie(id: 862) { posterUrl(size: W342) } }")
    url = expected["movie"]["posterUrl"]
    assert url and url.startswith(IMAGES + "w342/")
    desktop.goto("/movie/862")
    frame = page.get_by_test_id("movie-view").get_by_test_id("poster").first
    expect(frame).to_have_attribute("data-state", "missing")
    expect(frame.locator(".placeholder")).to_have_text("Toy Story")
    expect(frame.locator("img")).to_have_count(0)
    assert frame.bounding_box()["height"] > frame.bounding_box()["width"] > 100
    assert url in desktop.blocked, desktop.blocked  # it asked TMDB for exactly this image
    # Cast avatars fall back to initials the same way.
    hanks = page.get_by_test_id("cast-item").filter(has_text="Tom Hanks").get_by_test_id("avatar")
    expect(hanks).to_have_attribute("data-state", "missing")
    expect(hanks).to_have_text("TH")
    desktop.shot("poster-placeholder", full_page=False)
    assert desktop.outside() == []


def test_show_all_cast_pages_through_the_connection(desktop: Session) -> None:
    from playwright.sync_api import expect

    page = desktop.page
    cast = _graphql(desktop.base, """{ movie(id: 949) { cast(first: 100) { totalCount
        nodes { actor { name } character } } } }""")["movie"]["cast"]
    total = cast["totalCount"]
    assert total > 15
    desktop.goto("/movie/949")
    expect(page.get_by_test_id("movie-title")).to_have_text("Heat")
    items = page.get_by_test_id("cast-item")
    expect(items).to_have_count(15)
    expect(page.get_by_test_id("cast-title")).to_have_text(f"Cast (first 15 of {total})")
    page.get_by_test_id("cast-show-all").click()
    expect(items).to_have_count(total)
    expect(page.get_by_test_id("cast-title")).to_have_text(f"Cast ({total})")
    expect(page.get_by_test_id("cast-show-all")).to_have_count(0)
    shown = [actor.inner_text() for actor in page.get_by_test_id("cast-actor").all()]
    assert shown == [n["actor"]["name"] for n in cast["nodes"]]
    # Crew by department, with the director under Directing; keywords and companies link on.
    directing = page.locator('[data-testid="crew-department"][data-department="Directing"]')
    expect(directing).to_contain_text("Michael Mann")
    expect(page.get_by_test_id("keyword-chip").filter(has_text=re.compile(r"^heist$"))).to_have_count(1)
    expect(page.get_by_test_id("company-chip").first).to_be_visible()
    desktop.shot("heat-full-cast")


def test_genre_chip_opens_a_browse_view(desktop: Session) -> None:
    from playwright.sync_api import expect

    page = desktop.page
    desktop.goto("/movie/862")
    page.get_by_test_id("genre-chip").filter(has_text="Animation").click()
    expect(page).to_have_url(re.compile(r"#/browse\?genre=Animation$"))
    expect(page.get_by_test_id("browse-title")).to_contain_text("Animation")
    expected = _graphql(desktop.base, """{ movies(filter: {genre: "Animation"}, sort: POPULARITY,
        first: 24) { totalCount nodes { title } } }""")["movies"]
    expect(page.get_by_test_id("browse-count")).to_have_text(f"{expected['totalCount']} movies")
    tiles = page.get_by_test_id("browse-movie")
    expect(tiles).to_have_count(len(expected["nodes"]))
    titles = [t.inner_text() for t in tiles.locator(".tile-title").all()]
    assert titles == [n["title"] for n in expected["nodes"]]
    desktop.shot("browse-animation")

    # The form narrows it: the 1990s, by vote average; the URL carries the state.
    page.get_by_test_id("browse-from").fill("1990")
    page.get_by_test_id("browse-to").fill("1999")
    page.get_by_test_id("browse-sort").select_option("VOTE_AVERAGE")
    page.get_by_test_id("browse-form").locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"from=1990&to=1999.*sort=VOTE_AVERAGE"))
    narrowed = _graphql(desktop.base, """{ movies(filter: {genre: "Animation", yearFrom: 1990,
        yearTo: 1999}, sort: VOTE_AVERAGE, first: 24) { totalCount nodes { title } } }""")["movies"]
    expect(page.get_by_test_id("browse-count")).to_have_text(f"{narrowed['totalCount']} movies")
    expect(tiles.first.locator(".tile-title")).to_have_text(narrowed["nodes"][0]["title"])

    # A keyword chip lists that keyword's movies through Keyword.movies.
    desktop.goto("/movie/949")
    page.get_by_test_id("keyword-chip").filter(has_text=re.compile(r"^heist$")).click()
    expect(page).to_have_url(re.compile(r"#/keyword/\d+$"))
    expect(page.get_by_test_id("browse-title")).to_have_text("heist")
    expect(page.get_by_test_id("browse-movie").filter(has_text="Heat")).to_have_count(1)
    assert desktop.outside() == []


def test_enter_opens_a_shareable_results_view(desktop: Session) -> None:
    from playwright.sync_api import expect

    page = desktop.page
    desktop.goto("/")
    search = page.get_by_test_id("search-input")
    search.fill("heat")
    search.press("Enter")  # at once: before the debounced live results can have arrived
    expect(page).to_have_url(re.compile(r"#/search\?q=heat$"))
    movies = page.get_by_test_id("results-movie")
    expect(movies.first).to_contain_text("Heat")
    expected = _graphql(desktop.base,
                        '{ searchMovies(query: "heat", first: 20) { movie { tmdbId } } }')
    expect(movies).to_have_count(len(expected["searchMovies"]))
    desktop.shot("results-heat")
    page.reload()  # the URL alone brings the same view back
    expect(page.get_by_test_id("results-movie").first).to_contain_text("Heat")
    expect(search).to_have_value("heat")

    # Nothing close: an honest empty state, never a list of poor matches.
    empty = _graphql(desktop.base, """{ searchMovies(query: "qqqqqqqq") { score }
        searchPeople(query: "qqqqqqqq") { score } }""")
    assert empty == {"searchMovies": [], "searchPeople": []}
    search.fill("qqqqqqqq")
    search.press("Enter")
    expect(page.get_by_test_id("results-empty")).to_contain_text("No good match")
    expect(page.get_by_test_id("results-like-link")).to_have_attribute("href", "#/like?q=qqqqqqqq")
    desktop.shot("results-empty")


def test_search_list_is_a_combobox_with_an_active_option(desktop: Session) -> None:
    from playwright.sync_api import expect

    page = desktop.page
    desktop.goto("/")
    search = page.get_by_test_id("search-input")
    assert search.get_attribute("role") == "combobox"
    assert page.get_by_test_id("search-results").get_attribute("role") == "listbox"
    search.press_sequentially("toy sto", delay=30)
    options = page.locator('#search-results [role="option"]')
    expect(options.first).to_be_visible()
    assert page.locator("#search-results a").count() == 0  # options are not links inside li
    search.press("ArrowDown")
    first_id = options.first.get_attribute("id")
    expect(search).to_have_attribute("aria-activedescendant", first_id)
    expect(options.first).to_have_attribute("aria-selected", "true")
    search.press("ArrowDown")
    expect(search).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
    search.press("ArrowUp")
    expect(search).to_have_attribute("aria-activedescendant", first_id)
    assert page.evaluate("document.activeElement.id") == "search-input"  # focus stays put
    target = options.first.get_attribute("data-href")
    search.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(target) + "$"))


def test_bad_hash_and_wrong_role_routes(desktop: Session) -> None:
    from playwright.sync_api import expect

    page = desktop.page
    desktop.goto("/movie/862")
    expect(page.get_by_test_id("movie-title")).to_have_text("Toy Story")
    # A malformed escape replaces the old view with an error card (it used to throw outside
    # the router's try and leave Toy Story on screen).
    page.evaluate("location.hash = '#/%E0'")
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error.get_by_test_id("error-code")).to_have_text("NOT_FOUND")
    expect(error.get_by_test_id("error-message")).to_contain_text("%E0")
    expect(page.get_by_test_id("movie-view")).to_have_count(0)
    expect(error.get_by_test_id("retry")).to_have_count(0)  # retrying cannot fix an address

    # A director opened as an actor goes to the person's directing side.
    info = _graphql(desktop.base, """{ director(id: 638) { name }
        movie(id: 949) { directors { tmdbId } } }""")
    assert {"tmdbId": 638} in info["movie"]["directors"]
    desktop.goto("/actor/638")
    expect(page).to_have_url(re.compile(r"#/director/638$"))
    expect(page.get_by_test_id("director-name")).to_have_text(info["director"]["name"])

    # A request that fails for a reason other than the address offers a retry.
    desktop.goto("/movie/999999999")
    expect(page.get_by_test_id("error").get_by_test_id("error-explain")).to_contain_text(
        "has nothing by that name or id")
    expect(page.get_by_test_id("retry")).to_be_visible()


def test_home_picks_have_credits_and_a_movie_without_says_so(desktop: Session) -> None:
    from playwright.sync_api import expect

    page = desktop.page
    desktop.goto("/")
    tiles = page.get_by_test_id("popular-movie")
    expect(tiles).to_have_count(12)
    ids = [int(t.get_attribute("data-id") or 0) for t in tiles.all()]
    query = "{ " + " ".join(f"m{i}: movie(id: {i}) {{ hasCredits }}" for i in ids) + " }"
    assert all(m["hasCredits"] for m in _graphql(desktop.base, query).values())

    bare = _graphql(desktop.base, """{ movies(filter: {hasCredits: false}, first: 1) {
        nodes { tmdbId title } } }""")["movies"]["nodes"][0]
    desktop.goto(f"/movie/{bare['tmdbId']}")
    expect(page.get_by_test_id("movie-title")).to_have_text(bare["title"])
    expect(page.get_by_test_id("no-credits")).to_contain_text(
        "The loaded data has no cast or crew credits for this movie")
    expect(page.get_by_test_id("cast")).to_have_count(0)
    expect(page.get_by_test_id("movie-directors")).not_to_contain_text("unknown")
