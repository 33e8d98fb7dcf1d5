/* Duty Assistant's page scripts, put once into the page's <head> by assistant/web/app.py. */

// A copy button inside a chat message cannot carry its own script (the chat sanitises HTML), so one
// document-level listener copies the plain text kept in the hidden <pre class="da-plain"> right after it
// (the citizen slip, or the full entry for staff).
document.addEventListener("click", function (event) {
  var button = event.target && event.target.closest ? event.target.closest(".da-copy") : null;
  if (!button) return;
  event.preventDefault();
  var source = button.nextElementSibling;
  if (!source || !source.classList.contains("da-plain")) {
    var box = button.closest(".da-answer");
    source = box ? box.querySelector(".da-plain") : null;
  }
  var text = source ? source.textContent : "";
  function done(ok) {
    button.classList.remove("is-done", "is-failed");
    button.classList.add(ok ? "is-done" : "is-failed");
    setTimeout(function () { button.classList.remove("is-done", "is-failed"); }, 1800);
  }
  function fallback() {
    var area = document.createElement("textarea");
    area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
    document.body.appendChild(area); area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area); done(ok);
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
  } else { fallback(); }
});

// "Print the slip": only that slip goes to the printer. A copy of it is put straight under <body> (the chat's
// scrolling box would cut it) and the print stylesheet (app.css, html.da-printing) hides everything else.
window.daPrintSlip = function (sheet) {
  var root = document.getElementById("da-print-root");
  if (!root) {
    root = document.createElement("div");
    root.id = "da-print-root";
    document.body.appendChild(root);
  }
  root.innerHTML = "";
  var copy = sheet.cloneNode(true);
  copy.querySelectorAll(".da-print").forEach(function (b) { b.remove(); });
  root.appendChild(copy);
  document.documentElement.classList.add("da-printing");
  var finish = function () {
    document.documentElement.classList.remove("da-printing");
    window.removeEventListener("afterprint", finish);
  };
  window.addEventListener("afterprint", finish);
  window.print();
  setTimeout(finish, 1000);  // browsers without afterprint
};
document.addEventListener("click", function (event) {
  var button = event.target && event.target.closest ? event.target.closest(".da-print") : null;
  if (!button) return;
  event.preventDefault();
  var sheet = button.closest(".da-slip-sheet");
  if (sheet) window.daPrintSlip(sheet);
});

// "All duties of this body" (an answer naming a county body, or Browse): open the Departments tab on it. The
// link's href carries the name (#dept=…; the chat drops data-* attributes); the tab's hidden request box takes
// it and the server fills the dropdown and the page. Captured first, so the chat does not open a new window.
window.daShowDepartment = function (name) {
  var tab = document.querySelector('button[role="tab"][data-tab-id="departments"]');
  if (tab) tab.click();
  var tries = 0;
  var put = function () {
    var box = document.querySelector("#da-dept-request textarea, #da-dept-request input");
    if (!box) { if (tries++ < 40) setTimeout(put, 100); return; }
    box.value = name + "|" + Date.now();  // a new value each time, so the same link works twice
    box.dispatchEvent(new Event("input", { bubbles: true }));
    window.scrollTo({ top: 0 });
  };
  setTimeout(put, 60);
};
document.addEventListener("click", function (event) {
  var link = event.target && event.target.closest ? event.target.closest("a.da-dept-link") : null;
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  var match = /#dept=([^&]*)/.exec(link.getAttribute("href") || "");
  if (match) window.daShowDepartment(decodeURIComponent(match[1]));
}, true);

// The page opens at its top: the browser must not restore an old scroll position, and the question box is
// focused without scrolling, and only on a wide screen (on a phone focusing opens the keyboard and scrolls).
if ("scrollRestoration" in history) history.scrollRestoration = "manual";
window.addEventListener("load", function () {
  var tries = 0;
  var focus = function () {
    var box = document.querySelector("#da-question textarea, #da-question input");
    if (!box) { if (tries++ < 50) setTimeout(focus, 200); return; }
    if (window.matchMedia("(min-width: 900px)").matches) box.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  };
  focus();
});

// The chat scrolls so that the latest question sits at the top and its answer card below it (Gradio's own
// autoscroll would show the end of a long answer: the last related item instead of the answer). The Ask
// tab calls it when a question is shown and again when its answer arrives.
window.daScrollToLastQuestion = function () {
  const go = () => {
    const chat = document.querySelector("#da-chat");
    if (!chat) return;
    const questions = chat.querySelectorAll(".da-question");
    const last = questions[questions.length - 1];
    if (!last) return;
    let box = last.parentElement;
    while (box && box !== chat.parentElement) {
      const style = getComputedStyle(box);
      if (/(auto|scroll)/.test(style.overflowY) && box.scrollHeight > box.clientHeight) break;
      box = box.parentElement;
    }
    if (!box || box === chat.parentElement) return;
    box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 24;
  };
  [50, 250, 700].forEach((t) => setTimeout(go, t));
};
