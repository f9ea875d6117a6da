// A staff user without a token: log in like the admin page does, then send the CSRF token with every POST.
// (In a browser on the same site the cookies travel by themselves: fetch(..., {credentials: "same-origin"}).)
const VCP_URL = process.env.VCP_URL ?? "http://127.0.0.1:8000";
const cookies = new Map();
const remember = (response) => {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(";");
    const [name, value] = pair.split("=");
    cookies.set(name.trim(), value);
  }
};
const cookieHeader = () => [...cookies].map(([name, value]) => `${name}=${value}`).join("; ");

// 1. The login page sets the csrftoken cookie; the login form must echo it back.
remember(await fetch(`${VCP_URL}/admin/login/`));
const form = new URLSearchParams({
  csrfmiddlewaretoken: cookies.get("csrftoken"),
  username: process.env.VCP_USER,
  password: process.env.VCP_PASSWORD,
});
const login = await fetch(`${VCP_URL}/admin/login/`, {
  method: "POST",
  body: form,
  redirect: "manual",
  headers: { Cookie: cookieHeader(), Referer: `${VCP_URL}/admin/login/` },
});
remember(login);
if (!cookies.has("sessionid")) throw new Error("login failed: check VCP_USER and VCP_PASSWORD");

// 2. Django rotates the CSRF token at login: send the current one as X-CSRFToken.
const response = await fetch(`${VCP_URL}/api/v1/predict`, {
  method: "POST",
  headers: {
    Cookie: cookieHeader(),
    "X-CSRFToken": cookies.get("csrftoken"),
    Referer: `${VCP_URL}/`,
    "Content-Type": "application/json",
  },
  body: JSON.stringify({ symbol: "ANRIPOWER" }),
});
const body = await response.json();
if (!response.ok) throw new Error(`HTTP ${response.status}: ${JSON.stringify(body.error)}`);
console.log(JSON.stringify(body));
