// Follows the background generation of a round's notices; reloads once everything is done
// so the finished documents appear in the list.
(function () {
  const box = document.querySelector('[data-testid="notice-progress"]');
  if (!box || box.dataset.pending === "0") return;
  const bar = box.querySelector("progress");
  const done = box.querySelector(".done");
  async function poll() {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const p = await response.json();
        bar.value = p.done;
        done.textContent = p.done;
        if (p.pending === 0) { window.location.reload(); return; }
      }
    } catch (e) { /* offline for a moment: try again */ }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
