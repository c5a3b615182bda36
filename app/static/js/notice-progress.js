// Follows the background generation of notices (a round's on its overview, a district's on its
// page); reloads once everything is done so the finished documents appear in the list.
(function () {
  const box = document.querySelector("[data-notice-progress]");
  if (!box || box.dataset.pending === "0") return;
  const bar = box.querySelector("progress");
  const done = box.querySelector(".done");
  async function poll() {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const p = await response.json();
        if (bar) bar.value = p.done;
        if (done) done.textContent = p.done;
        if (p.pending === 0) { window.location.reload(); return; }
      }
    } catch (e) { /* offline for a moment: try again */ }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
