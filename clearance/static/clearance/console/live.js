/* The console's live screens (lane board, dashboard, each role's home): every [data-live-url] region is
 * fetched again every data-live-every seconds and swapped in when it changed. What htmx's
 * hx-trigger="every 5s" would do, plus what an officer must notice: the time of the last update, a banner
 * when updates stop, another when the session has ended (the server answers with its login page, which
 * carries no X-Console-Fragment header), and the counts read out to a screen reader when they change.
 * A region is not swapped while keyboard focus is inside it, so a keyboard user does not lose its place. */
(function () {
  "use strict";
  function start(region) {
    const url = region.dataset.liveUrl;
    const every = 1000 * (parseInt(region.dataset.liveEvery, 10) || 5);
    const stamp = document.querySelector("[data-live-stamp]");
    const stale = document.querySelector("[data-live-stale]");
    const loggedOut = document.querySelector("[data-live-logged-out]");
    const announce = document.querySelector("[data-live-announce]");
    let lastOk = Date.now();
    let lastSummary = announce ? announce.textContent : "";
    let timer = null;

    function show(element, visible) { if (element) element.hidden = !visible; }

    async function tick() {
      try {
        const response = await fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "live"}, cache: "no-store"});
        if (response.headers.get("X-Console-Fragment") !== "1") {
          // The session ended (the login page came back): say so and stop asking.
          show(loggedOut, true); show(stale, false);
          document.body.classList.add("live-logged-out");
          clearInterval(timer);
          return;
        }
        if (!response.ok) throw new Error(String(response.status));
        const html = await response.text();
        const doc = new DOMParser().parseFromString(html, "text/html");
        const fresh = doc.querySelector("[data-live-region]") || doc.body;
        if (!region.contains(document.activeElement) && region.innerHTML !== fresh.innerHTML) {
          region.innerHTML = fresh.innerHTML;
        }
        lastOk = Date.now();
        if (stamp) stamp.textContent = response.headers.get("X-Updated-At") || stamp.textContent;
        const summary = decodeURIComponent(response.headers.get("X-Live-Summary") || "");
        if (announce && summary && summary !== lastSummary) { announce.textContent = summary; lastSummary = summary; }
        show(stale, false);
      } catch (error) {
        // Keep the last picture; after three missed updates say that it is no longer live.
        if (Date.now() - lastOk > 3 * every) show(stale, true);
      }
    }
    timer = setInterval(tick, every);
  }
  document.querySelectorAll("[data-live-url]").forEach(start);
})();
