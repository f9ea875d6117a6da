// The model versions (read-only), then the production one by id.
const VCP_URL = process.env.VCP_URL ?? "http://127.0.0.1:8000";
const headers = { Authorization: `Token ${process.env.VCP_TOKEN}` };

const response = await fetch(`${VCP_URL}/api/v1/models`, { headers });
const page = await response.json();
if (!response.ok) throw new Error(`HTTP ${response.status}: ${JSON.stringify(page.error)}`);
for (const v of page.results) console.log(`  id ${v.id}: ${v.name} v${v.version} ${v.algorithm} ${v.status}`);
const production = page.results.find((v) => v.status === "production");
const detail = await fetch(`${VCP_URL}/api/v1/models/${production.id}`, { headers });
if (!detail.ok) throw new Error(`HTTP ${detail.status}`);
const body = await detail.json();
console.log(`production: ${body.name} v${body.version}, threshold ${body.threshold}`);
