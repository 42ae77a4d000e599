// Runs once when the conversation component mounts (Gradio's js_on_load):
// `element` is the component's root, `trigger(name, data)` sends an event to Python.
// The markup (render.py) is redrawn as answers stream, so listeners are delegated
// from `element`, and the source popover lives on document.body.

const popover = document.getElementById("na-popover") || (() => {
  const box = document.createElement("div");
  box.id = "na-popover";
  box.className = "na-popover";
  box.setAttribute("role", "dialog");
  box.setAttribute("aria-label", "Cited passage");
  box.hidden = true;
  document.body.appendChild(box);
  return box;
})();
let openMark = null;
let pinned = false;
let closeTimer = null;

function placePopover(mark) {
  // Inline styles, not a CSS media query: Gradio scopes custom @media rules to its
  // container, and the popover lives on document.body.
  if (window.innerWidth <= 640) {
    Object.assign(popover.style, {
      left: "8px", right: "8px", top: "auto", bottom: "8px", width: "auto", maxHeight: "55vh",
    });
    return; // a bottom sheet on phones
  }
  Object.assign(popover.style, { right: "auto", bottom: "auto", width: "", maxHeight: "" });
  const r = mark.getBoundingClientRect();
  const width = popover.offsetWidth;
  const height = popover.offsetHeight;
  const left = Math.max(8, Math.min(r.left - 24, window.innerWidth - width - 8));
  const below = r.bottom + 8;
  const top = below + height > window.innerHeight - 8 && r.top - height - 8 > 8
    ? r.top - height - 8
    : below;
  popover.style.left = `${left}px`;
  popover.style.top = `${top}px`;
}

function openPopover(mark, pin) {
  clearTimeout(closeTimer);
  const source = document.getElementById(mark.dataset.source);
  if (!source) return;
  if (openMark && openMark !== mark) openMark.setAttribute("aria-expanded", "false");
  popover.replaceChildren(...Array.from(source.cloneNode(true).childNodes));
  const close = document.createElement("button");
  close.type = "button";
  close.className = "na-pop-close";
  close.setAttribute("aria-label", "Close");
  close.textContent = "×";
  close.addEventListener("click", () => closePopover());
  popover.prepend(close);
  popover.hidden = false;
  openMark = mark;
  pinned = pin || pinned;
  mark.setAttribute("aria-expanded", "true");
  placePopover(mark);
}

function closePopover() {
  clearTimeout(closeTimer);
  popover.hidden = true;
  pinned = false;
  if (openMark) openMark.setAttribute("aria-expanded", "false");
  openMark = null;
}

function closeSoon() {
  if (pinned) return;
  clearTimeout(closeTimer);
  closeTimer = setTimeout(closePopover, 250);
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (e) {
    // Not a secure context (plain http on a LAN address): the old way still works.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

function busy() {
  const chat = element.querySelector(".na-chat");
  return chat && chat.dataset.busy === "1";
}

element.addEventListener("click", async (event) => {
  const target = event.target.closest("[data-action]");
  if (!target || !element.contains(target)) return;
  const action = target.dataset.action;
  if (action === "cite") {
    event.preventDefault();
    if (openMark === target && pinned) closePopover();
    else openPopover(target, true);
  } else if (action === "ask") {
    if (busy()) return;
    element.querySelector(".na-chat").dataset.busy = "1";
    trigger("ask", { question: target.dataset.question });
  } else if (action === "rate") {
    trigger("feedback", { action: "rate", turn: target.dataset.turn, rating: target.dataset.rating });
  } else if (action === "send-feedback") {
    const form = target.closest(".na-reason-form");
    const chosen = form.querySelector("input[type=radio]:checked");
    const comment = form.querySelector(".na-comment");
    trigger("feedback", {
      action: "send",
      turn: target.dataset.turn,
      reason: chosen ? chosen.value : null,
      comment: comment ? comment.value : "",
    });
  } else if (action === "cancel-feedback") {
    trigger("feedback", { action: "cancel", turn: target.dataset.turn });
  } else if (action === "copy") {
    const label = target.querySelector("span");
    const ok = await copyText(target.dataset.copy);
    if (label) {
      label.textContent = ok ? "Copied" : "Copy failed";
      setTimeout(() => { label.textContent = "Copy"; }, 1500);
    }
  }
});

element.addEventListener("mouseover", (event) => {
  const mark = event.target.closest(".na-cite[data-action=cite]");
  if (mark && element.contains(mark) && !pinned) openPopover(mark, false);
});
element.addEventListener("mouseout", (event) => {
  if (event.target.closest(".na-cite[data-action=cite]")) closeSoon();
});
element.addEventListener("focusin", (event) => {
  const mark = event.target.closest(".na-cite[data-action=cite]");
  if (mark && !pinned) openPopover(mark, false);
});
popover.addEventListener("mouseenter", () => clearTimeout(closeTimer));
popover.addEventListener("mouseleave", closeSoon);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !popover.hidden) {
    const mark = openMark;
    closePopover();
    if (mark) mark.focus();
  }
});
document.addEventListener("click", (event) => {
  if (popover.hidden) return;
  if (popover.contains(event.target) || event.target.closest(".na-cite")) return;
  closePopover();
});
window.addEventListener("resize", () => { if (openMark) placePopover(openMark); });
document.addEventListener("scroll", () => { if (openMark) placePopover(openMark); }, true);

// -- following the conversation ------------------------------------------------------------
// When a question is sent, its turn is brought into view, and while the answer streams the
// page scrolls so that its newest text shows above the question box (which stays at the
// foot of the window, chat.css), but never so far that the start of the turn scrolls away:
// a long answer is read from its beginning. A reader who scrolls takes over until the next
// question.

const MARGIN = 12;
let following = null; // the turn being followed, while it is new
let stopped = false; // the reader scrolled, or the turn has settled

function visibleBottom() {
  const composer = document.getElementById("na-composer");
  const top = composer ? composer.getBoundingClientRect().top : window.innerHeight;
  return Math.min(top, window.innerHeight) - MARGIN;
}

function follow() {
  const turns = element.querySelectorAll("article.na-turn");
  const last = turns[turns.length - 1];
  if (!last) {
    following = null;
    return;
  }
  const settled = last.getAttribute("aria-busy") === "false";
  if (following !== last.id) {
    following = last.id; // a new question (a quick answer may arrive already settled)
    stopped = false;
  }
  if (stopped) return;
  const box = last.getBoundingClientRect();
  let by = Math.max(0, box.bottom - visibleBottom()); // show the newest text
  by = Math.min(by, box.top - MARGIN); // but keep the turn's start in view
  if (Math.abs(by) >= 1) window.scrollBy(0, by);
  if (settled) stopped = true; // its follow-ups are in: the page is the reader's again
}

// Right after each redraw, before it is painted: the reader never sees the turn slip away.
new MutationObserver(follow).observe(element, {
  childList: true, subtree: true, characterData: true,
});

for (const name of ["wheel", "touchmove"]) {
  window.addEventListener(name, () => { stopped = true; }, { passive: true });
}
window.addEventListener("keydown", (event) => {
  const keys = ["PageUp", "PageDown", "Home", "End", "ArrowUp", "ArrowDown", " "];
  const typing = event.target.closest && event.target.closest("textarea, input");
  if (!typing && keys.includes(event.key)) stopped = true;
});
