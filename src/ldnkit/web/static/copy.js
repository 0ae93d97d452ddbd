// "Copy to note": copies the text of the element a button names (data-copy="id") to the
// clipboard, and says so in the element "<id>-status". A result still being worked out (an
// answer changed the moment the button was pressed) is copied once it has arrived, never
// the one before it. Where the clipboard is not available (a page not served over HTTPS),
// the text is selected so that the person can copy it with the keyboard.
(function () {
  function say(id, words) {
    var status = document.getElementById(id + "-status");
    if (status) status.textContent = words;
  }
  function copy(id) {
    var source = document.getElementById(id);
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var selectIt = function () {
      if (source.select) source.select();
      say(id, "Selected: press Ctrl+C (or \u2318C) to copy.");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        say(id, "Copied. Paste it into the note.");
      }, selectIt);
    } else {
      selectIt();
    }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var id = button.getAttribute("data-copy");
    if (document.querySelector(".htmx-request")) {
      var settled = function () {
        document.body.removeEventListener("htmx:afterSettle", settled);
        copy(id);
      };
      document.body.addEventListener("htmx:afterSettle", settled);
    } else {
      copy(id);
    }
  });
  // A new result makes "Copied" untrue: the message goes with the old one.
  document.addEventListener("htmx:beforeSwap", function () {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      say(button.getAttribute("data-copy"), "");
    });
  });
})();
