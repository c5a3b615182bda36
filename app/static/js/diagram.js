// Round overview: show a district's process diagram with its active and completed steps.
(function () {
  const container = document.getElementById("diagram");
  if (!container || !window.BpmnJS) return;
  const viewer = new window.BpmnJS({ container });
  const title = document.getElementById("diagram-title");

  async function show(url, label) {
    if (!url) return;
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) { container.textContent = "流程图加载失败"; return; }
    const data = await response.json();
    await viewer.importXML(data.xml);
    const canvas = viewer.get("canvas");
    canvas.zoom("fit-viewport");
    for (const [kind, ids] of [["completed", data.completed], ["cancelled", data.cancelled], ["active", data.active]]) {
      for (const id of ids) {
        try { canvas.addMarker(id, "highlight-" + kind); } catch (e) { /* element not in this diagram */ }
      }
    }
    container.dataset.loaded = data.active.join(",") || "none";
    if (title && label) title.textContent = "流程图 · " + label;
  }

  // Refit after a phone is rotated or the window resized; the viewer keeps its zoom otherwise.
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (!container.dataset.loaded) return;
      const canvas = viewer.get("canvas");
      canvas.resized();
      canvas.zoom("fit-viewport");
    }, 150);
  });

  document.querySelectorAll(".show-diagram").forEach((button) => {
    button.addEventListener("click", () => {
      show(button.dataset.url, button.dataset.title);
      container.scrollIntoView({ behavior: "smooth" });
    });
  });
  show(container.dataset.initial, document.querySelector(".show-diagram")?.dataset.title);
})();
