// Liveness and readiness: no token needed.
const VCP_URL = process.env.VCP_URL ?? "http://127.0.0.1:8000";

for (const path of ["/api/v1/health", "/api/v1/health/ready"]) {
  const response = await fetch(`${VCP_URL}${path}`);
  const body = await response.json();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${JSON.stringify(body)}`);
  console.log(JSON.stringify(body));
}
