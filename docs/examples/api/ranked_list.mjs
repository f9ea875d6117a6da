// The latest scored day's ranked list, what the desk reads each morning: the top 5 by rank.
const VCP_URL = process.env.VCP_URL ?? "http://127.0.0.1:8000";

const query = new URLSearchParams({ ordering: "rank", page_size: "5" });
const response = await fetch(`${VCP_URL}/api/v1/predictions?${query}`, {
  headers: { Authorization: `Token ${process.env.VCP_TOKEN}` },
});
const page = await response.json();
if (!response.ok) throw new Error(`HTTP ${response.status}: ${JSON.stringify(page.error)}`);
console.log(`${page.count} predictions on the day`);
for (const row of page.results) console.log(`  #${row.rank} ${row.symbol} p=${row.probability.toFixed(4)}`);
