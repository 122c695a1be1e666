// digitreader web app: draw a digit, write a number, upload a photo, or film a paper; the server reads it.
// Plain modern JavaScript, no build step. The REST API is documented at /docs.

const API = "/api/v1";
const $ = (id) => document.getElementById(id);
const pct = (p) => `${(p * 100).toFixed(p >= 0.9995 || p < 0.0005 ? 0 : 1)}%`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const LOW_CONFIDENCE = 0.7; // below this a digit is shown in the warning colour

/** "a" or "an" before a whole number as it is read aloud: an 8, an 11, an 18, an 80..89, an 800, an 8000, an 11000. */
export function article(n) {
  const digits = String(n).replace(/^0+(?=\d)/, "");
  const lead = Number(digits.slice(0, digits.length % 3 || 3)); // the group read first: "eighteen" thousand
  return lead === 8 || lead === 11 || lead === 18 || (lead >= 80 && lead <= 89) || (lead >= 800 && lead <= 899)
    ? "an"
    : "a";
}
const withArticle = (n) => `${article(n)} ${n}`;

// ---------------------------------------------------------------- server calls and errors

let toastTimer = 0;
function showError(message) {
  const toast = $("toast");
  toast.textContent = message;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 7000);
}

/** POST an image to the API as a multipart upload; resolve to the JSON answer or throw an Error saying why. */
async function postImage(path, blob, filename) {
  const form = new FormData();
  form.append("image", blob, filename);
  let response;
  try {
    response = await fetch(API + path, { method: "POST", body: form });
  } catch {
    throw new Error("Cannot reach the server. Is `digitreader serve` still running?");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON: reported below */
  }
  if (!response.ok) {
    const why = body && body.detail ? String(body.detail) : `${response.status} ${response.statusText}`;
    throw new Error(response.status === 413 ? `Too large: ${why}` : `The server could not read this: ${why}`);
  }
  return body;
}

/** Run an async job "live": coalesce pokes, never more than one request in flight, always finish on the latest state. */
class Live {
  constructor(job, delay) {
    this.job = job;
    this.delay = delay;
    this.dirty = false;
    this.busy = false;
    this.timer = 0;
  }
  poke(now = false) {
    this.dirty = true;
    if (this.busy) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), now ? 0 : this.delay);
  }
  async fire() {
    this.timer = 0;
    if (!this.dirty || this.busy) return;
    this.dirty = false;
    this.busy = true;
    try {
      await this.job();
    } catch (err) {
      showError(err.message);
    } finally {
      this.busy = false;
      if (this.dirty) this.poke();
    }
  }
}

// ---------------------------------------------------------------- drawing pad

// Pen widths as fractions of the pad's height: medium is marker-thick, like a finger on a phone;
// thin keeps a small digit from turning into a blob.
const PENS = { thin: 1 / 24, medium: 1 / 11, thick: 1 / 7 };

/**
 * A canvas you draw on with a mouse, finger or pen; strokes are kept (for undo) in logical pixels.
 * The pad is `height` logical pixels tall and as wide as the canvas's shape makes it (square: height x height).
 */
class Sketchpad {
  constructor(canvas, height, onChange) {
    this.canvas = canvas;
    this.width = height;
    this.height = height;
    this.onChange = onChange;
    this.pen = Math.round(height * PENS.medium);
    this.strokes = []; // each {pen, points}
    this.current = null;
    this.revision = 0;
    this.ctx = canvas.getContext("2d");
    new ResizeObserver(() => this.resize()).observe(canvas);
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", () => this.up());
    canvas.addEventListener("pointercancel", () => this.up());
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
  }

  get empty() {
    return this.strokes.length === 0;
  }

  setPen(size) {
    this.pen = Math.round(this.height * (PENS[size] || PENS.medium));
  }

  resize() {
    const rect = this.canvas.getBoundingClientRect();
    if (!rect.width || !rect.height) return; // hidden
    const width = Math.round((this.height * rect.width) / rect.height); // same scale across and down
    const reshaped = width !== this.width;
    this.width = width;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(rect.width * dpr));
    this.canvas.height = Math.max(1, Math.round(rect.height * dpr));
    if (reshaped && !this.empty) this.changed(true); // read again what the new shape shows
    else this.render();
  }

  point(e) {
    const rect = this.canvas.getBoundingClientRect();
    return [((e.clientX - rect.left) * this.width) / rect.width, ((e.clientY - rect.top) * this.height) / rect.height];
  }

  down(e) {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.current = { pen: this.pen, points: [this.point(e)] };
    this.strokes.push(this.current);
    this.changed();
  }

  move(e) {
    if (!this.current) return;
    e.preventDefault();
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) this.current.points.push(this.point(ev));
    this.changed();
  }

  up() {
    if (!this.current) return;
    this.current = null;
    this.changed(true);
  }

  undo() {
    if (this.empty) return;
    this.strokes.pop();
    this.current = null;
    this.changed(true);
  }

  clear() {
    if (this.empty) return;
    this.strokes = [];
    this.current = null;
    this.changed(true);
  }

  changed(final = false) {
    this.revision += 1;
    this.canvas.dataset.revision = String(this.revision);
    this.canvas.parentElement.classList.toggle("inked", !this.empty);
    this.render();
    this.onChange(this, final);
  }

  render() {
    const c = this.ctx;
    c.setTransform(1, 0, 0, 1, 0, 0);
    c.clearRect(0, 0, this.canvas.width, this.canvas.height);
    c.setTransform(this.canvas.width / this.width, 0, 0, this.canvas.height / this.height, 0, 0);
    this.paint(c, "#16182a");
  }

  /** Smooth strokes: quadratic curves through the midpoints of the sampled points. */
  paint(c, color) {
    c.strokeStyle = color;
    c.fillStyle = color;
    c.lineCap = "round";
    c.lineJoin = "round";
    for (const { pen, points: s } of this.strokes) {
      c.lineWidth = pen;
      if (s.length === 1) {
        c.beginPath();
        c.arc(s[0][0], s[0][1], pen / 2, 0, Math.PI * 2);
        c.fill();
        continue;
      }
      c.beginPath();
      c.moveTo(s[0][0], s[0][1]);
      for (let i = 1; i < s.length - 1; i++) {
        c.quadraticCurveTo(s[i][0], s[i][1], (s[i][0] + s[i + 1][0]) / 2, (s[i][1] + s[i + 1][1]) / 2);
      }
      c.lineTo(s[s.length - 1][0], s[s.length - 1][1]);
      c.stroke();
    }
  }

  /** The drawing as the server gets it: black ink on white paper, a PNG at the logical size. */
  toBlob() {
    const off = document.createElement("canvas");
    off.width = this.width;
    off.height = this.height;
    const c = off.getContext("2d");
    c.fillStyle = "#fff";
    c.fillRect(0, 0, this.width, this.height);
    this.paint(c, "#000");
    return canvasBlob(off, "image/png");
  }
}

function canvasBlob(canvas, type, quality) {
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("The browser could not encode the image."))), type, quality),
  );
}

function wirePad(pad, prefix) {
  const undo = $(`${prefix}-undo`);
  const clear = $(`${prefix}-clear`);
  undo.addEventListener("click", () => pad.undo());
  clear.addEventListener("click", () => pad.clear());
  for (const radio of document.querySelectorAll(`input[name="${prefix}-pen"]`)) {
    radio.addEventListener("change", () => radio.checked && pad.setPen(radio.value)); // for the next strokes
  }
  return () => {
    undo.disabled = pad.empty;
    clear.disabled = pad.empty;
  };
}

// ---------------------------------------------------------------- one digit: answer, chart, what the model saw

const bars = [];
function buildChart() {
  const chart = $("draw-chart");
  for (let d = 0; d < 10; d++) {
    const li = document.createElement("li");
    li.dataset.digit = String(d);
    li.dataset.p = "0";
    li.innerHTML = `<span class="pct"></span><span class="bar"><span class="fill"></span></span><span class="digit">${d}</span>`;
    li.setAttribute("aria-label", `${d}: no answer yet`);
    chart.append(li);
    bars.push(li);
  }
}

function showChart(probabilities) {
  const top = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
  bars.forEach((li, d) => {
    const p = probabilities ? probabilities[d] : 0;
    li.style.setProperty("--p", String(p));
    li.dataset.p = String(p);
    li.classList.toggle("top", d === top);
    li.querySelector(".pct").textContent = probabilities && p >= 0.01 ? pct(p) : "";
    li.setAttribute("aria-label", probabilities ? `${d}: ${pct(p)}` : `${d}: no answer yet`);
  });
}

function showDigit(answer, revision) {
  const result = $("draw-result");
  const seen = $("draw-seen");
  let state = "done";
  if (!answer) {
    state = "empty";
    $("draw-digit").textContent = "?";
    $("draw-title").textContent = "Draw a digit";
    $("draw-confidence").textContent = "The answer updates while you draw.";
  } else if (answer.digit === null) {
    state = "none";
    $("draw-digit").textContent = "–";
    const why = answer.reason || answer.message || "";
    $("draw-title").textContent = why.startsWith("several digits")
      ? "Several digits: use Number mode"
      : why.startsWith("that doesn't look like a digit")
        ? "That doesn't look like a digit"
        : "No digit found";
    $("draw-confidence").textContent = why || "Draw a bit larger or bolder.";
  } else {
    const p = answer.probabilities;
    const second = p.map((v, d) => [v, d]).sort((a, b) => b[0] - a[0])[1];
    $("draw-digit").textContent = String(answer.digit);
    $("draw-title").textContent = `Looks like ${withArticle(answer.digit)}`;
    $("draw-confidence").textContent =
      answer.confidence >= 0.9
        ? `${pct(answer.confidence)} sure`
        : `${pct(answer.confidence)} sure; could also be ${withArticle(second[1])} (${pct(second[0])})`;
  }
  resetDigitFix(state === "done" || state === "none" ? answer : null);
  showChart(answer && answer.probabilities);
  seen.hidden = !(answer && answer.preprocessed);
  $("draw-seen-empty").hidden = !seen.hidden;
  if (!seen.hidden) seen.src = answer.preprocessed;
  result.dataset.digit = answer && answer.digit !== null ? String(answer.digit) : "";
  result.dataset.state = state;
  result.dataset.revision = String(revision);
}

// ---------------------------------------------------------------- "Not what you wrote?"
// A wrong answer can be corrected on the page: it shows where the reading went wrong and what the model
// thought of the right answer. Corrections stay in this page's memory; only a press on "Send this
// correction" sends one (the image and what the user wrote) to the server, which stores it.

const noted = []; // {mode, read, meant}: this page's corrections, gone when it is closed
const KEPT = "Kept on this page only: nothing is sent or stored unless you send it.";
const shownImage = {}; // panel -> the image its answer was read from: sent only with a correction
const offered = {}; // panel -> {label, mode}: the correction that "Send" would send
let correctionsOn = false; // whether this server stores corrections (GET /api/v1/health)

/** Offer to send the correction `label` of the image the panel shows (where the server takes corrections). */
function offerSend(prefix, label, mode) {
  offered[prefix] = { label, mode };
  const button = $(`${prefix}-fix-send-button`);
  button.disabled = false;
  button.textContent = "Send this correction";
  $(`${prefix}-fix-send`).hidden = !correctionsOn || !shownImage[prefix];
}

function withdrawSend(prefix) {
  delete offered[prefix];
  $(`${prefix}-fix-send`).hidden = true;
}

/** POST the offered correction with the image; on 201 say so, else say why and let the user try again. */
async function sendCorrection(prefix) {
  const correction = offered[prefix];
  const image = shownImage[prefix];
  if (!correction || !image) return;
  const button = $(`${prefix}-fix-send-button`);
  button.disabled = true;
  button.textContent = "Sending…";
  const form = new FormData();
  form.append("image", image, image.type === "image/jpeg" ? "correction.jpg" : "correction.png");
  form.append("label", correction.label);
  form.append("mode", correction.mode);
  try {
    let response;
    try {
      response = await fetch(`${API}/corrections`, { method: "POST", body: form });
    } catch {
      throw new Error("cannot reach the server");
    }
    const body = await response.json().catch(() => null);
    if (response.status !== 201) throw new Error(body && body.detail ? String(body.detail) : `${response.status}`);
    withdrawSend(prefix);
    $(`${prefix}-fix`).dataset.sent = String(body.id);
    note(prefix, `Sent, thank you: the server stored this image with what you wrote (correction ${body.id}).`);
  } catch (err) {
    button.disabled = false;
    button.textContent = "Send this correction";
    showError(`The correction was not sent: ${err.message}`);
  }
}

async function checkCorrections() {
  try {
    const response = await fetch(`${API}/health`);
    correctionsOn = response.ok && (await response.json()).corrections === true;
  } catch {
    correctionsOn = false;
  }
}

function note(prefix, text) {
  const out = $(`${prefix}-fix-note`);
  out.textContent = text;
  out.hidden = !text;
}

function openFix(prefix, open) {
  $(`${prefix}-fix-open`).setAttribute("aria-expanded", String(open));
  $(`${prefix}-fix-panel`).hidden = !open;
}

let digitAnswer = null;

/** A new answer (or none): the control is offered again, closed, with the model's odds on each digit. */
function resetDigitFix(answer) {
  digitAnswer = answer;
  $("draw-fix").hidden = !answer;
  delete $("draw-fix").dataset.sent;
  openFix("draw", false);
  note("draw", "");
  withdrawSend("draw");
  for (const li of bars) li.classList.remove("meant");
  for (const button of document.querySelectorAll("#draw-fix-digits button")) {
    const d = Number(button.dataset.digit);
    const p = answer && answer.probabilities ? answer.probabilities[d] : null;
    button.querySelector("small").textContent = p === null ? "" : pct(p);
    button.setAttribute("aria-label", p === null ? `${d}` : `${d}: the model gave it ${pct(p)}`);
    button.setAttribute("aria-pressed", "false");
  }
}

function correctDigit(meant) {
  const answer = digitAnswer;
  if (!answer) return;
  for (const button of document.querySelectorAll("#draw-fix-digits button")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.digit) === meant));
  }
  bars.forEach((li, d) => li.classList.toggle("meant", d === meant && d !== answer.digit));
  if (meant === answer.digit) {
    note("draw", `Then it read you right: ${withArticle(meant)}, ${pct(answer.confidence)} sure.`);
    withdrawSend("draw");
    return;
  }
  noted.push({ mode: "draw", read: answer.digit, meant });
  offerSend("draw", String(meant), "predict");
  const read =
    answer.digit === null
      ? "it found no digit"
      : `it read ${withArticle(answer.digit)} (${pct(answer.confidence)}) and gave the ${meant} ${pct(answer.probabilities[meant])}`;
  note("draw", `Noted: you wrote ${withArticle(meant)}; ${read}. ${KEPT}`);
}

function wireDigitFix() {
  const row = $("draw-fix-digits");
  for (let d = 0; d < 10; d++) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "key";
    button.dataset.digit = String(d);
    button.innerHTML = `<b>${d}</b><small></small>`;
    button.addEventListener("click", () => correctDigit(d));
    row.append(button);
  }
  $("draw-fix-open").addEventListener("click", () => openFix("draw", $("draw-fix-panel").hidden));
  $("draw-fix-send-button").addEventListener("click", () => sendCorrection("draw"));
}

const readings = {}; // the reading each panel shows, to compare a correction with

/** 1st, 2nd, 3rd, 4th ... 11th, 12th, 13th ... 21st. */
function ordinal(n) {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  return n + (teen ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th");
}

function resetReadingFix(prefix, reading) {
  readings[prefix] = reading;
  const fix = $(`${prefix}-fix`);
  if (!fix) return; // the camera reads on and on: nothing to correct
  fix.hidden = !reading;
  delete fix.dataset.sent;
  openFix(prefix, false);
  note(prefix, "");
  withdrawSend(prefix);
  $(`${prefix}-fix-input`).value = "";
}

/** Compare the number the user wrote with the reading; mark the digits read wrong. */
function correctReading(prefix, typed) {
  const reading = readings[prefix];
  if (!reading) return;
  const meant = typed.replace(/\s+/g, "");
  if (!/^\d+$/.test(meant)) {
    note(prefix, "Type the number you wrote, digits only.");
    withdrawSend(prefix);
    return;
  }
  const read = reading.digits.map((d) => String(d.digit)).join("");
  const chips = [...$(`${prefix}-digits`).children];
  const boxes = [...$(`${prefix}-boxes`).querySelectorAll(".box")];
  const wrong = [];
  if (meant.length === read.length) {
    for (let i = 0; i < read.length; i++) if (read[i] !== meant[i]) wrong.push(i);
  }
  chips.forEach((li, i) => li.classList.toggle("wrong", wrong.includes(i)));
  boxes.forEach((box, i) => {
    box.classList.toggle("wrong", wrong.includes(i));
    box.nextElementSibling.classList.toggle("wrong", wrong.includes(i)); // its tag
  });
  if (meant === read) {
    note(prefix, `Then it read you right: ${read}.`);
    withdrawSend(prefix);
    return;
  }
  noted.push({ mode: prefix, read, meant });
  offerSend(prefix, meant, "read");
  let why;
  if (meant.length !== read.length) {
    const n = read.length;
    why =
      meant.length > n
        ? `it found ${n} digit${n === 1 ? "" : "s"}, not ${meant.length}: one was missed, or two were read as one`
        : `it found ${n} digits, not ${meant.length}: a mark was taken for a digit, or one was split in two`;
  } else {
    why = wrong.map((i) => `the ${ordinal(i + 1)} read as ${withArticle(read[i])}, not ${withArticle(meant[i])}`).join("; ");
  }
  note(prefix, `Noted: you wrote ${meant}; ${why}. ${KEPT}`);
}

function wireReadingFix(prefix) {
  $(`${prefix}-fix-open`).addEventListener("click", () => {
    const open = $(`${prefix}-fix-panel`).hidden;
    openFix(prefix, open);
    if (open) {
      const input = $(`${prefix}-fix-input`);
      input.value = readings[prefix] ? readings[prefix].digits.map((d) => d.digit).join("") : "";
      input.focus();
      input.select();
    }
  });
  $(`${prefix}-fix-send-button`).addEventListener("click", () => sendCorrection(prefix));
  $(`${prefix}-fix-panel`).addEventListener("submit", (e) => {
    e.preventDefault();
    correctReading(prefix, $(`${prefix}-fix-input`).value);
  });
}

// ---------------------------------------------------------------- several digits: text, boxes, chips

/** Show a reading (`/api/v1/read` answer) in the panel `prefix`, boxes placed relative to a w x h image. */
function showReading(prefix, reading, width, height, revision) {
  const result = $(`${prefix}-result`);
  const boxes = $(`${prefix}-boxes`);
  const list = $(`${prefix}-digits`);
  boxes.replaceChildren();
  list.replaceChildren();
  resetReadingFix(prefix, reading);
  if (!reading) {
    $(`${prefix}-text`).textContent = "—";
    $(`${prefix}-confidence`).textContent = $(`${prefix}-confidence`).dataset.hint || "";
    result.dataset.state = "empty";
    result.dataset.text = "";
    if (revision !== undefined) result.dataset.revision = String(revision);
    return;
  }
  const n = reading.digits.length;
  $(`${prefix}-text`).textContent = reading.text || "—";
  $(`${prefix}-confidence`).textContent = n
    ? `${n} digit${n > 1 ? "s" : ""} · ${pct(reading.confidence)} sure of the whole number`
    : reading.message || "No digit found.";
  for (const d of reading.digits) {
    const [x, y, w, h] = d.box;
    const low = d.confidence < LOW_CONFIDENCE;
    const box = document.createElement("div");
    box.className = low ? "box low" : "box";
    box.dataset.digit = String(d.digit);
    Object.assign(box.style, {
      left: `${(100 * x) / width}%`,
      top: `${(100 * y) / height}%`,
      width: `${(100 * w) / width}%`,
      height: `${(100 * h) / height}%`,
    });
    const tag = document.createElement("span");
    tag.className = low ? "tag low" : "tag";
    tag.dataset.digit = String(d.digit);
    tag.dataset.full = `${d.digit} · ${pct(d.confidence)}`;
    boxes.append(box, tag);

    const li = document.createElement("li");
    if (low) li.className = "low";
    if (d.preprocessed) {
      const img = document.createElement("img");
      img.src = d.preprocessed;
      img.alt = `what the model saw for the ${d.digit}`;
      li.append(img);
    }
    const text = document.createElement("div");
    text.innerHTML = `<b></b><span></span>`;
    text.querySelector("b").textContent = String(d.digit);
    text.querySelector("span").textContent = pct(d.confidence);
    li.append(text);
    list.append(li);
  }
  placeTags(boxes);
  result.dataset.state = n ? "done" : "none";
  result.dataset.text = reading.text;
  if (revision !== undefined) result.dataset.revision = String(revision);
}

const overlap = (a, b, gap = 0) =>
  a.x < b.x + b.w + gap && b.x < a.x + a.w + gap && a.y < b.y + b.h + gap && b.y < a.y + a.h + gap;

/**
 * Place each box's tag (its digit and confidence) inside the container, clear of every other tag: above its box,
 * else below, else in rows further out or inside the box, slid sideways as little as it can; over another digit's box
 * only when nothing else is left. Where the whole tag fits nowhere, it shows the digit alone; where even that does
 * not fit, none (the list beside still names every digit). Runs again whenever the container changes size.
 */
function placeTags(container) {
  const W = container.clientWidth;
  const H = container.clientHeight;
  const pairs = [...container.querySelectorAll(".box")].map((box) => [box, box.nextElementSibling]);
  if (!W || !H) return;
  const rect = (el) => ({ x: el.offsetLeft, y: el.offsetTop, w: el.offsetWidth, h: el.offsetHeight });
  const items = pairs.map(([box, tag]) => ({ own: rect(box), tag }));
  const others = items.map((item) => item.own);
  const placed = [];
  items.sort((a, b) => a.own.x - b.own.x);
  for (const { own, tag } of items) {
    let best = null;
    for (const [text, extra] of [[tag.dataset.full, 0], [tag.dataset.digit, 25]]) {
      tag.textContent = text;
      tag.hidden = false;
      const w = tag.offsetWidth;
      const h = tag.offsetHeight;
      for (const spot of tagSpots(own, w, h, W, H)) {
        const cost = spot.cost + extra + (others.some((r) => r !== own && overlap(r, spot)) ? 1000 : 0);
        if (best && cost >= best.cost) continue;
        if (placed.some((r) => overlap(r, spot, 1))) continue;
        best = { ...spot, cost, text };
      }
    }
    if (!best) {
      tag.hidden = true;
      continue;
    }
    tag.textContent = best.text;
    Object.assign(tag.style, { left: `${best.x}px`, top: `${best.y}px` });
    placed.push(best);
  }
}

/** Where a w x h tag for box `b` may go inside W x H, each with a cost: the farther from the box's top left, the more. */
function tagSpots(b, w, h, W, H) {
  const gap = 3;
  const rows = [];
  for (let k = 0; k < 4; k++) {
    rows.push([b.y - gap - h - k * (h + gap), 2 * k * (h + gap)]); // above, then rows further up
    rows.push([b.y + b.h + gap + k * (h + gap), 4 + 2 * k * (h + gap)]); // below, then further down
  }
  rows.push([b.y + gap, 30], [b.y + b.h - h - gap, 34]); // inside the box, over the ink
  const spots = [];
  for (const [y, rowCost] of rows) {
    if (y < 0 || y + h > H) continue;
    for (let dx = 0; dx <= W; dx += 4) {
      for (const x of dx ? [b.x - dx, b.x + dx] : [b.x]) {
        const cx = Math.min(Math.max(x, 0), W - w);
        if (cx !== x && dx) continue; // clamped: the same spot comes up at dx = 0 or a nearer dx
        if (cx < 0) continue; // wider than the container
        spots.push({ x: cx, y, w, h, cost: rowCost + Math.abs(cx - b.x) });
      }
    }
  }
  return spots;
}

// ---------------------------------------------------------------- photo or scan

const MAX_SIDE = 2400; // photos are scaled down to this before upload: plenty for digits, quick to send

/** Decode in the browser (which applies EXIF rotation), scale down, and re-encode what will be shown and sent. */
async function normalise(file) {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const c = canvas.getContext("2d");
  c.fillStyle = "#fff"; // transparent PNGs: read as on white paper
  c.fillRect(0, 0, canvas.width, canvas.height);
  c.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const png = file.type === "image/png" && canvas.width * canvas.height <= 4e6;
  return canvasBlob(canvas, png ? "image/png" : "image/jpeg", 0.92);
}

let photoUrl = "";
async function readPhoto(file) {
  if (!file) return;
  if (file.type && !file.type.startsWith("image/")) {
    showError(`"${file.name}" is not an image (${file.type}). Choose a photo or scan: PNG, JPEG, WebP, BMP or TIFF.`);
    return;
  }
  const result = $("photo-result");
  result.dataset.state = "busy";
  $("photo-confidence").textContent = "Reading…";
  let blob = file;
  try {
    blob = await normalise(file);
  } catch {
    /* a format this browser cannot decode (e.g. TIFF): send the file as it is and let the server try */
  }
  const img = $("photo-image");
  URL.revokeObjectURL(photoUrl);
  photoUrl = URL.createObjectURL(blob);
  img.src = photoUrl;
  let width = 0;
  let height = 0;
  try {
    await img.decode();
    width = img.naturalWidth;
    height = img.naturalHeight;
  } catch {
    /* no preview: the reading is still shown */
  }
  $("photo-empty").hidden = Boolean(width); // no preview: keep the prompt to choose another
  $("photo-stage").hidden = !width;
  $("photo-another").hidden = !width;
  $("photo-drop").classList.toggle("filled", Boolean(width));
  try {
    const reading = await postImage("/read", blob, file.name || "image");
    shownImage.photo = blob;
    showReading("photo", reading, width || 1, height || 1);
  } catch (err) {
    showReading("photo", null);
    $("photo-confidence").textContent = err.message;
    result.dataset.state = "error";
    showError(err.message);
  }
}

function wirePhoto() {
  const input = $("photo-input");
  const drop = $("photo-drop");
  $("photo-choose").addEventListener("click", () => input.click());
  $("photo-another").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    readPhoto(input.files[0]);
    input.value = "";
  });
  drop.addEventListener("dragenter", () => drop.classList.add("over"));
  drop.addEventListener("dragleave", (e) => {
    if (!drop.contains(e.relatedTarget)) drop.classList.remove("over");
  });
  // Dropping or pasting an image anywhere on the page reads it.
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) {
      selectTab("photo");
      readPhoto(file);
    }
  });
  document.addEventListener("paste", (e) => {
    const file = [...(e.clipboardData ? e.clipboardData.files : [])].find((f) => f.type.startsWith("image/"));
    if (file) {
      e.preventDefault();
      selectTab("photo");
      readPhoto(file);
    }
  });
}

// ---------------------------------------------------------------- camera

let cameraSession = null;

async function startCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showError("The camera needs a secure page: open the app at http://localhost or over https.");
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
  } catch (err) {
    const why = {
      NotAllowedError: "Camera access was denied. Allow it in the browser's address bar, then try again.",
      NotFoundError: "No camera was found on this device.",
      NotReadableError: "The camera is in use by another application.",
    }[err.name];
    showError(why || `The camera could not start: ${err.message}`);
    return;
  }
  const video = $("camera-video");
  video.srcObject = stream;
  await video.play();
  $("camera-stage").style.setProperty("--vw", String(video.videoWidth || 4));
  $("camera-stage").style.setProperty("--vh", String(video.videoHeight || 3));
  $("camera-off").hidden = true;
  $("camera-start").hidden = true;
  $("camera-stop").hidden = false;
  const session = { stream };
  cameraSession = session;
  cameraLoop(session, video);
}

function stopCamera() {
  if (!cameraSession) return;
  for (const track of cameraSession.stream.getTracks()) track.stop();
  cameraSession = null;
  $("camera-video").srcObject = null;
  $("camera-off").hidden = false;
  $("camera-start").hidden = false;
  $("camera-stop").hidden = true;
  $("camera-stats").textContent = "";
  $("camera-boxes").replaceChildren();
}

/** Read frames one after another (the next is sent when the answer to the last arrives). */
async function cameraLoop(session, video) {
  const canvas = document.createElement("canvas");
  let last = performance.now();
  while (cameraSession === session) {
    const vw = video.videoWidth;
    const vh = video.videoHeight;
    if (!vw || !vh) {
      await sleep(100);
      continue;
    }
    const scale = Math.min(1, 800 / Math.max(vw, vh));
    canvas.width = Math.round(vw * scale);
    canvas.height = Math.round(vh * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    try {
      const blob = await canvasBlob(canvas, "image/jpeg", 0.85);
      const reading = await postImage("/read", blob, "frame.jpg");
      if (cameraSession !== session) break;
      showReading("camera", reading, canvas.width, canvas.height);
      const now = performance.now();
      $("camera-stats").textContent = `${(1000 / (now - last)).toFixed(1)} readings/s`;
      last = now;
    } catch (err) {
      showError(err.message);
      await sleep(1500);
    }
    await sleep(30);
  }
}

// ---------------------------------------------------------------- tabs, keys, start-up

const TABS = ["draw", "number", "photo", "camera"];
let pads = {};

function selectTab(name, focus = false) {
  for (const t of TABS) {
    const tab = $(`tab-${t}`);
    const on = t === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`panel-${t}`).hidden = !on;
    if (on && focus) tab.focus();
  }
  if (name !== "camera") stopCamera();
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
}

function wireTabs() {
  for (const t of TABS) $(`tab-${t}`).addEventListener("click", () => selectTab(t));
  document.querySelector('[role="tablist"]').addEventListener("keydown", (e) => {
    const i = TABS.findIndex((t) => $(`tab-${t}`).getAttribute("aria-selected") === "true");
    const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    selectTab(TABS[(next + TABS.length) % TABS.length], true);
  });
  const fromHash = location.hash.slice(1);
  selectTab(TABS.includes(fromHash) ? fromHash : "draw");
}

function wireKeys() {
  document.addEventListener("keydown", (e) => {
    const active = TABS.find((t) => !$(`panel-${t}`).hidden);
    const pad = pads[active];
    if (!pad || e.target.closest("input:not([type=radio]), textarea, select")) return;
    if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "z") {
      e.preventDefault();
      pad.undo();
    } else if (e.key === "Escape" || (e.key === "Delete" && e.target === pad.canvas)) {
      pad.clear();
    }
  });
}

async function showModel() {
  const badge = $("model-badge");
  try {
    const response = await fetch(`${API}/model`);
    if (!response.ok) throw new Error(String(response.status));
    const card = await response.json();
    const name = document.createElement("span");
    name.className = "model-name"; // left out on phones, where the badge keeps to one line
    name.textContent = `model ${card.name}`;
    const parts = [name];
    if (typeof card.test_accuracy === "number") {
      const acc = document.createElement("span");
      acc.className = "model-acc";
      acc.textContent = `${(card.test_accuracy * 100).toFixed(2)}% on MNIST`;
      name.textContent += " · ";
      parts.push(acc);
    }
    $("model-text").replaceChildren(...parts);
    badge.title = [card.architecture, card.params && `${card.params.toLocaleString()} parameters`]
      .filter(Boolean)
      .join(", ");
    badge.className = "model ok";
  } catch {
    $("model-text").textContent = "server unreachable";
    badge.className = "model down";
  }
}

function start() {
  buildChart();
  for (const t of TABS.slice(1)) $(`${t}-confidence`).dataset.hint = $(`${t}-confidence`).textContent;

  const drawButtons = { update: () => {} };
  const drawPad = new Sketchpad($("draw-canvas"), 280, (_pad, final) => {
    drawButtons.update();
    drawLive.poke(final);
  });
  const drawLive = new Live(async () => {
    const revision = drawPad.revision;
    if (drawPad.empty) return showDigit(null, revision);
    $("draw-result").dataset.state = "busy";
    const image = await drawPad.toBlob();
    const answer = await postImage("/predict", image, "drawing.png");
    shownImage.draw = image;
    showDigit(answer, revision);
  }, 90);
  drawButtons.update = wirePad(drawPad, "draw");

  const numberButtons = { update: () => {} };
  const numberPad = new Sketchpad($("number-canvas"), 300, (_pad, final) => {
    numberButtons.update();
    numberLive.poke(final);
  });
  const numberLive = new Live(async () => {
    const revision = numberPad.revision;
    if (numberPad.empty) return showReading("number", null, 1, 1, revision);
    $("number-result").dataset.state = "busy";
    const { width, height } = numberPad; // the size of the image sent, which the boxes refer to
    const image = await numberPad.toBlob();
    const reading = await postImage("/read", image, "number.png");
    shownImage.number = image;
    showReading("number", reading, width, height, revision);
  }, 150);
  numberButtons.update = wirePad(numberPad, "number");

  pads = { draw: drawPad, number: numberPad };
  for (const t of TABS.slice(1)) {
    const boxes = $(`${t}-boxes`);
    new ResizeObserver(() => placeTags(boxes)).observe(boxes);
  }
  wireDigitFix();
  wireReadingFix("number");
  wireReadingFix("photo");
  wireTabs();
  wireKeys();
  wirePhoto();
  $("camera-start").addEventListener("click", startCamera);
  $("camera-stop").addEventListener("click", stopCamera);
  document.addEventListener("visibilitychange", () => document.hidden && stopCamera());
  showModel();
  checkCorrections();
}

start();
