// Live updates and countdowns. No framework: the server renders, this file only refreshes the
// regions marked data-live when the server says something they show has changed.
(() => {
  "use strict";
  const body = document.body;
  const skewMs = Number(body.dataset.serverNow || 0) * 1000 - Date.now();
  const now = () => (Date.now() + skewMs) / 1000;

  const fmt = (seconds) => {
    const s = Math.floor(Math.abs(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const r = String(s % 60).padStart(2, "0");
    return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}:${r}`;
  };

  const tick = () => {
    document.querySelectorAll("[data-due]").forEach((el) => {
      const left = Number(el.dataset.due) - now();
      el.textContent = left < 0 ? `超时 overdue ${fmt(left)}` : fmt(left);
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 60);
    });
  };
  tick();
  setInterval(tick, 1000);

  const pending = new Set();
  let timer = null;

  const flush = async () => {
    timer = null;
    for (const el of [...pending]) {
      pending.delete(el);
      const response = await fetch(el.dataset.live, {
        headers: { "X-Desk-Background": "1" },
        credentials: "same-origin",
      });
      if (response.status === 401) {
        window.location.href = "/login?msg=expired";
        return;
      }
      if (response.ok) {
        el.innerHTML = await response.text();
        tick();
      }
    }
  };

  const onChange = (change) => {
    document.querySelectorAll("[data-live]").forEach((el) => {
      const kinds = (el.dataset.kinds || "").split(" ");
      if (change.kind === "resync" || kinds.includes(change.kind)) pending.add(el);
    });
    document.querySelectorAll("[data-watch]").forEach((el) => {
      if (el.dataset.watch === change.id) el.hidden = false;
    });
    if (pending.size && !timer) timer = setTimeout(flush, 250);
  };

  if (body.dataset.stream && window.EventSource) {
    const live = document.getElementById("live");
    const events = new EventSource(body.dataset.stream);
    events.addEventListener("hello", () => live && live.classList.add("on"));
    events.addEventListener("change", (event) => onChange(JSON.parse(event.data)));
    events.addEventListener("expired", () => { window.location.href = "/login?msg=expired"; });
    events.onerror = () => live && live.classList.remove("on");
  }
})();
