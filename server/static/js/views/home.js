/* Home: the release chart (assignment functions 1 and 2), popular movies that have credits,
 * and the two ways to browse (filters, free text). */

import { gql } from "../api.js";
import { TILE_FIELDS, deferred, fmtInt, h, href, movieTile, section } from "../dom.js";
import { likeForm } from "./browse.js";

const MONTHS = Array.from({ length: 12 }, (_, i) => i + 1);
const WEEKDAYS = Array.from({ length: 7 }, (_, i) => i + 1);

// The API names months and days in Spanish (the assignment's sentences); the page is English.
const monthName = new Intl.DateTimeFormat("en-US", { month: "long", timeZone: "UTC" });
const dayName = new Intl.DateTimeFormat("en-US", { weekday: "long", timeZone: "UTC" });
const englishMonth = (m) => monthName.format(Date.UTC(2001, m - 1, 1));
const englishDay = (d) => dayName.format(Date.UTC(2001, 0, d)); // 2001-01-01 was a Monday

const CHART_QUERY = `query ReleaseChart {
${MONTHS.map((m) => `  m${m}: releasesInMonth(month: "${m}") { number count }`).join("\n")}
${WEEKDAYS.map((d) => `  d${d}: releasesOnWeekday(day: "${d}") { number count }`).join("\n")}
}`;

const HOME_QUERY = `query Home {
  movies(first: 12, sort: POPULARITY, filter: {hasCredits: true}) { nodes { ${TILE_FIELDS} } }
}`;

function bars(title, rows, testid, barTestid) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  const total = rows.reduce((sum, r) => sum + r.count, 0);
  return h("figure", { class: "chart", testid },
    h("figcaption", {}, h("span", {}, title), h("span", { class: "muted" }, `${fmtInt(total)} movies`)),
    h("ol", { class: "bars", style: `--n:${rows.length}` }, rows.map((r) => {
      const label = `${r.name}: ${fmtInt(r.count)} movies`;
      return h("li", { class: "bar", testid: barTestid, title: label, "aria-label": label,
        "data-count": r.count },
      h("span", { class: "bar-value" }, fmtInt(r.count)),
      h("span", { class: "bar-track" },
        h("span", { class: "bar-fill", style: `height:${((r.count / max) * 100).toFixed(1)}%` })),
      h("span", { class: "bar-label", testid: `${barTestid}-label` }, r.name.slice(0, 3)));
    })));
}

async function chartCard() {
  const data = await gql(CHART_QUERY);
  const months = MONTHS.map((m) => ({ ...data[`m${m}`], name: englishMonth(m) }));
  const days = WEEKDAYS.map((d) => ({ ...data[`d${d}`], name: englishDay(d) }));
  return h("section", { class: "card", testid: "release-chart" },
    h("h2", { class: "section-title" }, "When movies are released"),
    h("div", { class: "charts" },
      bars("By month", months, "month-chart", "month-bar"),
      bars("By weekday", days, "weekday-chart", "weekday-bar")));
}

async function popularCard() {
  const data = await gql(HOME_QUERY);
  return section("Most popular", "popular",
    h("p", { class: "muted small section-note" },
      "Among the movies the loaded data has cast and crew for. ",
      h("a", { href: href.browse({ sort: "POPULARITY" }) }, "Browse all movies →")),
    h("ul", { class: "tiles" }, data.movies.nodes.map((m) => movieTile(m, "popular-movie"))));
}

export async function homeView() {
  document.title = "movies-graph";
  return h("div", { class: "stack" },
    h("div", { class: "hero" },
      h("h1", {}, "Explore The Movies Dataset"),
      h("p", { class: "muted" },
        "Search a title or a person above. Every name and title is a link: walk from a movie "
        + "to its cast, from an actor to their films, and on to similar movies.")),
    deferred(popularCard, "Could not load popular movies"),
    section("Describe a movie", "like-card",
      h("p", { class: "muted small section-note" },
        "Free text, matched against every overview, tagline, genre and keyword (moviesLike)."),
      likeForm("")),
    deferred(chartCard, "Could not load the release chart"));
}
