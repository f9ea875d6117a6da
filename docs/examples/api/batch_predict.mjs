// Several stocks in one call: each item succeeds or fails on its own (NOSUCH fails, the others do not).
const VCP_URL = process.env.VCP_URL ?? "http://127.0.0.1:8000";

const items = [{ symbol: "ARVIIND" }, { symbol: "ANRIPOWER", exchange: "NSE" }, { symbol: "NOSUCH" }];
const response = await fetch(`${VCP_URL}/api/v1/batch_predict`, {
  method: "POST",
  headers: { Authorization: `Token ${process.env.VCP_TOKEN}`, "Content-Type": "application/json" },
  body: JSON.stringify({ items }),
});
const batch = await response.json();
if (!response.ok) throw new Error(`HTTP ${response.status}: ${JSON.stringify(batch.error)}`);
console.log(`${batch.succeeded} of ${batch.count} succeeded`);
for (const result of batch.results) {
  console.log(`  ${result.symbol}: ${result.prediction ? result.prediction.probability.toFixed(4) : result.error.code}`);
}
