// "Copy to note": copies the text of the element a button names (data-copy="id") to the
// clipboard. Where the clipboard is not available (a page not served over HTTPS), the text is
// selected so that the person can copy it with the keyboard.
(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var status = document.getElementById(button.getAttribute("data-copy") + "-status");
    var say = function (words) { if (status) status.textContent = words; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { say("Copied. Paste it into the note."); },
        function () { source.select && source.select(); say("Selected: press Ctrl+C (or ⌘C) to copy."); }
      );
    } else {
      if (source.select) source.select();
      say("Selected: press Ctrl+C (or ⌘C) to copy.");
    }
  });
})();
