// One stock's next-day upper-circuit probability, with the 5 largest feature contributions.
const VCP_URL = process.env.VCP_URL ?? "http://127.0.0.1:8000";

const response = await fetch(`${VCP_URL}/api/v1/predict`, {
  method: "POST",
  headers: { Authorization: `Token ${process.env.VCP_TOKEN}`, "Content-Type": "application/json" },
  body: JSON.stringify({ symbol: "ARVIIND", explain: true }),
});
const prediction = await response.json();
if (!response.ok) throw new Error(`HTTP ${response.status}: ${JSON.stringify(prediction.error)}`);
console.log(
  `${prediction.symbol} as of ${prediction.date}: p=${prediction.probability.toFixed(4)} ` +
    `-> will_hit_upper_circuit=${prediction.will_hit_upper_circuit} (model v${prediction.model.version})`,
);
for (const item of prediction.explanation) console.log(`  ${item.feature}: ${item.contribution.toFixed(4)}`);
