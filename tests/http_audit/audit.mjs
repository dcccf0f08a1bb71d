// The GraphQL Foundation's GraphQL-over-HTTP conformance audit (graphql-http's serverAudits)
// against a running server:  node audit.mjs http://127.0.0.1:8000/graphql
// Prints one line per audit and a JSON summary as the last line; exits 1 on any warning or
// error (a failed SHOULD or MUST), 2 when the server cannot be reached.
import { serverAudits } from "graphql-http";

const url = process.argv[2] ?? process.env.MOVIES_GRAPHQL_URL ?? "http://127.0.0.1:8000/graphql";

const results = [];
try {
  for (const audit of serverAudits({ url })) {
    results.push(await audit.fn());
  }
} catch (error) {
  console.error(`audit could not run against ${url}: ${error}`);
  process.exit(2);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  const line = `${result.status.padEnd(6)} ${result.id} ${result.name}`;
  if (result.status === "ok") {
    console.log(line);
  } else {
    const response = result.response;
    const detail = response ? ` [${response.status} ${response.headers.get("content-type")}]` : "";
    console.log(`${line}: ${result.reason}${detail}`);
  }
}
console.log(JSON.stringify({ url, total: results.length, ...counts }));
process.exit(counts.warn + counts.error > 0 ? 1 : 0);
