/* Duty Assistant's page scripts, put once into the page's <head> by assistant/web/app.py. */

// A copy button inside a chat message cannot carry its own script (the chat sanitises HTML), so one
// document-level listener copies the plain text kept in the hidden <pre class="da-plain"> beside it.
document.addEventListener("click", function (event) {
  var button = event.target && event.target.closest ? event.target.closest(".da-copy") : null;
  if (!button) return;
  event.preventDefault();
  var box = button.closest(".da-answer");
  var source = box ? box.querySelector(".da-plain") : null;
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
