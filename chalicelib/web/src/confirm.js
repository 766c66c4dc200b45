// /app/confirm?token=...: the page an email confirmation link opens. Opening it confirms nothing
// (mail scanners fetch links); pressing the button POSTs the token to /v1/subscribers/confirm.
// The token leaves the address bar at once (no Referer, no history entry carries it).
(function () {
  "use strict";
  const base = document.querySelector('meta[name="beatline-base"]').content;
  const button = document.getElementById("confirm");
  const status = document.getElementById("status");
  const token = new URLSearchParams(window.location.search).get("token") || "";
  window.history.replaceState(null, "", window.location.pathname);
  const say = (en, cy) => { status.textContent = en + " · " + cy; };
  if (!/^[A-Za-z0-9_.-]{16,200}$/.test(token)) {
    say("This link is incomplete: open it from the email again.", "Mae'r ddolen hon yn anghyflawn: agorwch hi o'r e-bost eto.");
    return;
  }
  button.disabled = false;
  button.addEventListener("click", () => {
    button.disabled = true;
    fetch(base + "/v1/subscribers/confirm", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: token }),
    }).then((response) => {
      if (response.ok) say("Confirmed: alerts will now reach this address.", "Wedi'i gadarnhau: bydd rhybuddion yn cyrraedd y cyfeiriad hwn nawr.");
      else if (response.status === 404) say("This link was used already or has expired.", "Mae'r ddolen hon wedi'i defnyddio'n barod neu wedi dod i ben.");
      else { button.disabled = false; say("Something went wrong: try again.", "Aeth rhywbeth o'i le: rhowch gynnig arall arni."); }
    }).catch(() => { button.disabled = false; say("No connection: try again.", "Dim cysylltiad: rhowch gynnig arall arni."); });
  });
})();
