// Body map: a tap on an area ticks its checkbox (and the reverse), so the form works without
// JavaScript too. Keyboard users toggle an area with Enter or Space.
(function () {
  function sync(area) {
    var box = document.getElementById("area-" + area.dataset.area);
    if (!box) return;
    area.classList.toggle("on", box.checked);
    area.setAttribute("aria-checked", box.checked ? "true" : "false");
  }
  function init() {
    document.querySelectorAll(".bodymap .area").forEach(function (area) {
      var box = document.getElementById("area-" + area.dataset.area);
      if (!box) return;
      var toggle = function () {
        box.checked = !box.checked;
        sync(area);
        // As a tap on the box itself would: the calculator updates its result on change.
        box.dispatchEvent(new Event("change", { bubbles: true }));
      };
      area.addEventListener("click", toggle);
      area.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); }
      });
      box.addEventListener("change", function () { sync(area); });
      sync(area);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
