// sohoa station page: one batch at a time. The page polls its batch for ever (fast while the
// scanner, the recognizer or the delivery works) and shows a recognition only for the batch
// version it was made for, so it never freezes on a superseded result.
"use strict";
const $ = (sel) => document.querySelector(sel);
const FAST = 250, SLOW = 1500;
let info = null, batch = null, edited = {}, editedType = null, lastRec = "";
let wasBusy = false, lastToday = 0;

async function api(method, url, body) {
  const opts = { method, headers: {} };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  let resp;
  try { resp = await fetch(url, opts); } catch (e) {
    throw new Error("Không kết nối được với trạm quét trên máy này; hãy chờ giây lát rồi thử lại.");
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error(typeof data.detail === "string" ? data.detail : `Có lỗi (mã ${resp.status}); hãy thử lại.`);
    err.status = resp.status;
    throw err;
  }
  return data;
}

function showMessage(text, kind) {
  const box = $("#message");
  box.hidden = !text;
  box.textContent = text || "";
  box.className = "message" + (kind ? " " + kind : "");
}

// --- dates: the same rules as station/dates.py ---------------------------------------------
const DATE_FIELDS = ["issued_on"];
const BAD_DATE = "Ngày không hợp lệ: hãy nhập ngày/tháng/năm, ví dụ 05/12/2026.";

function parseVnDate(text) {  // → "yyyy-mm-dd", "" for empty, null when unreadable
  text = (text || "").trim();
  if (!text) return "";
  let m = text.match(/^(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})$/), d, mo, y;
  if (m) { d = +m[1]; mo = +m[2]; y = +m[3]; }
  else if ((m = text.match(/^(\d{4})-(\d{1,2})-(\d{1,2})$/))) { y = +m[1]; mo = +m[2]; d = +m[3]; }
  else return null;
  const dt = new Date(Date.UTC(y, mo - 1, d));
  if (y < 1900 || y > 2100 || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
  return `${y}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

function showVnDate(iso) {  // "2026-12-05" → "05/12/2026"; anything else as it is
  const m = (iso || "").match(/^(\d{4})-(\d{2})-(\d{2})$/);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : (iso || "");
}

function checkDateInput(input) {
  const bad = parseVnDate(input.value) === null;
  const err = input.closest(".field").querySelector(".field-error");
  err.hidden = !bad;
  err.textContent = bad ? BAD_DATE : "";
  input.setAttribute("aria-invalid", bad ? "true" : "false");
  return !bad;
}

// --- info and batch ------------------------------------------------------------------------

async function loadInfo() {
  info = await api("GET", "/api/info");
  const unit = info.unit_name ? `${info.unit_name} (mã ${info.unit})` : `Mã đơn vị ${info.unit}`;
  $("#unit-name").textContent = unit;
  const mode = info.mode === "server" ? "gửi về máy chủ của tỉnh" : "lưu trữ ngay trên máy này";
  const scanner = $("#station-info");
  scanner.textContent = `${info.scanner ? "Máy quét đã cấu hình" : "Chưa cấu hình máy quét"} · ${mode}`;
  if (info.scanner) scanner.title = info.scanner;
  const sel = $("#procedure");
  for (const [code, name] of Object.entries(info.procedures)) {
    const o = document.createElement("option"); o.value = code; o.textContent = `${code} — ${name}`; sel.appendChild(o);
  }
  const dt = $("#doctype");
  dt.innerHTML = '<option value="">— Chưa xác định —</option>';
  for (const t of info.doctypes) {
    const o = document.createElement("option"); o.value = t.code; o.textContent = t.name; dt.appendChild(o);
  }
  $("#dossier").placeholder = `Ví dụ ${info.dossier_example} — rồi bấm Enter để quét`;
}

function ensureProcedureOption(code) {
  if (!code) return;
  const sel = $("#procedure");
  if (![...sel.options].some((o) => o.value === code)) {
    const o = document.createElement("option"); o.value = code; o.textContent = code; sel.appendChild(o);
  }
}

async function newBatch() {
  const b = await api("POST", "/api/batches", { dossier: $("#dossier").value, procedure: $("#procedure").value });
  edited = {}; editedType = null; lastRec = ""; batch = null;
  $("#allow-duplicate").checked = false;
  setBatch(b);
  localStorage.setItem("sohoa-batch", b.id);
  return b;
}

async function currentBatch() {
  if (batch && batch.state === "draft") return batch;
  return newBatch();
}

function busy(b) {
  return !!(b && (b.scanning || b.recognizing || b.state === "queued" || b.state === "processing"));
}

function setBatch(b) {
  // an answer older than what the page shows (a slow poll after an action) changes nothing
  if (batch && b.id === batch.id && (b.rev || 0) < (batch.rev || 0)) return;
  batch = b;
  document.body.dataset.batchVersion = b.version || 0;
  document.body.dataset.batch = b.id;
  if (document.activeElement !== $("#dossier")) $("#dossier").value = b.dossier || "";
  ensureProcedureOption(b.procedure);
  if (document.activeElement !== $("#procedure")) $("#procedure").value = b.procedure || "";
  renderPages();
  renderRecognition();
  renderDuplicate();
  const scanning = !!b.scanning, draft = b.state === "draft";
  $("#scan-btn").disabled = scanning || !draft;
  $("#scan-state").textContent = scanning ? "Đang quét… " + b.pages.length + " trang" : "";
  if (!draft) showMessage(`Đã gửi hồ sơ ${b.dossier} (${b.pages.length} trang).`, "info");
  else if (b.scan_error) showMessage(b.scan_error.vi + (b.pages.length ? ` Các trang đã quét (${b.pages.length}) vẫn được giữ.` : ""));
  else if (b.qr && b.qr.dossier) showMessage(`Đã đọc mã hồ sơ ${b.qr.dossier} từ mã QR trên trang 1.`, "info");
  else if (!$("#message").classList.contains("sticky")) showMessage("");
  updateSubmit();
  const nowBusy = busy(b);
  if (nowBusy) schedule(FAST);
  if (wasBusy && !nowBusy && draft && b.pages.length) focusNext();
  wasBusy = nowBusy;
}

function updateSubmit() {
  const b = batch;
  const blocked = !b || b.scanning || b.recognizing || !b.pages.length || b.state !== "draft"
    || (b.duplicates && b.duplicates.length && !$("#allow-duplicate").checked);
  $("#submit-btn").disabled = !!blocked;
  let why = "";
  if (b && b.state !== "draft") why = "Đã gửi — trạng thái: " + stateVi(b.state);
  else if (b && b.recognizing && b.pages.length) why = "Chờ nhận dạng xong để gửi…";
  $("#submit-state").textContent = why;
}

// After a scan (and its recognition): the first field to check, else Gửi — unless the clerk
// is typing somewhere already.
function focusNext() {
  const active = document.activeElement;
  const idle = !active || active === document.body || ["scan-btn", "dossier", "import-btn"].includes(active.id)
    || active.closest("#pages");
  if (!idle) return;
  const low = document.querySelector("#fields .field.low input");
  const dup = !$("#duplicate").hidden && !$("#allow-duplicate").checked ? $("#allow-duplicate") : null;
  (low || dup || $("#submit-btn")).focus();
}

function stateVi(s) {
  return { draft: "chưa gửi", queued: "đang chờ", processing: "đang xử lý", stored: "đã lưu",
           needs_review: "cần kiểm tra", failed: "lỗi" }[s] || s;
}

async function refreshBatch() {
  if (!batch) return;
  try { setBatch(await api("GET", `/api/batches/${batch.id}`)); } catch (e) { /* keep polling */ }
}

// One loop for ever: fast while work is pending, slow otherwise; it never stops. Work that
// starts (an action's answer says so) brings the next look forward.
let timer = null, timerDue = 0, ticking = false;
function schedule(ms) {
  const due = Date.now() + ms;
  if (timer && timerDue <= due) return;
  clearTimeout(timer);
  timerDue = due;
  timer = setTimeout(tick, ms);
}
async function tick() {
  timer = null;
  if (ticking) return;
  ticking = true;
  try {
    await refreshBatch();
    if (Date.now() - lastToday > SLOW) { lastToday = Date.now(); await refreshToday(); }
  } finally {
    ticking = false;
    schedule(busy(batch) ? FAST : SLOW);
  }
}

function renderPages() {
  const box = $("#pages");
  const key = JSON.stringify([batch.id, batch.pages.map((p) => [p.id, p.rotation, p.thumb_version || 0])]);
  $("#empty-pages").hidden = batch.pages.length > 0;
  box.dataset.version = batch.version || 0;
  if (box.dataset.key === key) return;
  const focused = document.activeElement && document.activeElement.closest("#pages .page")
    ? [document.activeElement.closest(".page").dataset.page, document.activeElement.dataset.act] : null;
  box.dataset.key = key;
  box.innerHTML = "";
  batch.pages.forEach((p, i) => {
    const div = document.createElement("div");
    div.className = "page"; div.dataset.page = p.id;
    div.innerHTML = `<img alt="Trang ${i + 1}" src="/api/batches/${batch.id}/pages/${p.id}/thumb?v=${p.rotation}-${p.thumb_version || 0}">
      <div class="num">Trang ${i + 1}${p.side === "back" ? " (mặt sau)" : ""}</div>
      <div class="tools">
        <button data-act="rotate" title="Xoay 90° theo chiều kim đồng hồ">⟳ Xoay</button>
        <button data-act="left" title="Chuyển lên trước" ${i === 0 ? "disabled" : ""}>◀</button>
        <button data-act="right" title="Chuyển ra sau" ${i === batch.pages.length - 1 ? "disabled" : ""}>▶</button>
        <button data-act="rescan" title="Quét lại trang này">Quét lại</button>
        <button data-act="delete" title="Xóa trang này">Xóa</button>
      </div>`;
    div.querySelector(".tools").addEventListener("click", (ev) => pageAction(p.id, i, ev.target.dataset.act));
    box.appendChild(div);
  });
  if (focused) {  // keep the keyboard where it was (e.g. pressing ⟳ twice)
    const again = box.querySelector(`.page[data-page="${focused[0]}"] button[data-act="${focused[1]}"]`);
    if (again && !again.disabled) again.focus();
  }
}

// Page actions run one after another, and Gửi waits for the ones still on their way: a clerk
// who presses ⟳ then Gửi at once must not send the page unrotated nor be refused.
let editing = Promise.resolve();
function pageAction(pageId, index, act) {
  editing = editing.then(() => doPageAction(pageId, index, act));
  return editing;
}
async function doPageAction(pageId, index, act) {
  if (!act || !batch || batch.state !== "draft") return;
  const base = `/api/batches/${batch.id}/pages/${pageId}`;
  try {
    if (act === "rotate") setBatch(await api("POST", base + "/rotate", { degrees: 90 }));
    if (act === "left") setBatch(await api("POST", base + "/move", { to: index - 1 }));
    if (act === "right") setBatch(await api("POST", base + "/move", { to: index + 1 }));
    if (act === "delete" && confirm(`Xóa trang ${index + 1}?`)) setBatch(await api("DELETE", base));
    if (act === "rescan") { await api("POST", base + "/rescan"); await refreshBatch(); }
  } catch (e) { showMessage(e.message); }
}

function renderRecognition() {
  const panel = $("#recognition");
  panel.hidden = !batch.pages.length;
  const pending = !!batch.recognizing;
  const rec = pending ? null : batch.recognition;  // a superseded result is never shown as current
  panel.classList.toggle("pending", pending);
  $("#rec-state").textContent = pending ? "— đang nhận dạng…" : (rec && rec.error ? "— không nhận dạng được: " + rec.error : "");
  if (pending) return;  // keep what is on screen (and what the clerk typed) until the new result
  const key = JSON.stringify([batch.id, batch.version, rec]);
  if (key === lastRec) return;
  lastRec = key;
  panel.dataset.version = rec ? rec.version : "";
  const labels = info.field_labels;
  const fields = (rec && rec.fields) || {};
  const conf = (rec && rec.field_confidence) || {};
  const crops = (rec && rec.crops) || {};
  const low = new Set((rec && rec.low) || []);
  const dt = $("#doctype");
  dt.value = editedType ?? (batch.document_type || (rec && rec.document_type) || "");
  $("#doctype-row").classList.toggle("low", !editedType && (!rec || low.has("document_type")));
  const type = info.doctypes.find((t) => t.code === dt.value);
  const names = Object.keys(labels).filter((f) => f in fields || (type && type.required.includes(f)));
  const box = $("#fields");
  box.innerHTML = "";
  for (const f of names) {
    const wrap = document.createElement("div");
    const isLow = !(f in edited) && (low.has(f) || !fields[f]);
    wrap.className = "field" + (isLow ? " low" : "");
    const pct = conf[f] !== undefined ? Math.round(conf[f] * 100) + "%" : "";
    const note = isLow ? (fields[f] ? `cần kiểm tra (máy đọc chắc ${pct})` : "cần nhập") : (pct ? `máy đọc chắc ${pct}` : "");
    const isDate = DATE_FIELDS.includes(f);
    wrap.innerHTML = `<div class="row${isLow ? " low" : ""}"><label for="field-${f}">${labels[f]}</label>
      <input id="field-${f}" data-field="${f}" autocomplete="off"${isDate ? ' placeholder="ngày/tháng/năm" inputmode="numeric"' : ""}>
      <span class="note" title="Mức tin cậy của máy đọc với ô này">${note}</span></div>
      <div class="field-error" role="alert" hidden></div>`;
    if (isLow && crops[f] && batch.id) {
      const img = document.createElement("img");
      img.className = "crop"; img.alt = `Vùng ảnh của ô ${labels[f]} trên giấy`;
      img.src = `/api/batches/${batch.id}/crop/${f}?v=${batch.version || 0}`;
      wrap.querySelector(".row").insertBefore(img, wrap.querySelector(".note"));
    }
    const input = wrap.querySelector("input");
    input.value = f in edited ? edited[f] : (isDate ? showVnDate(fields[f]) : (fields[f] || ""));
    input.addEventListener("input", () => { edited[f] = input.value; wrap.classList.remove("low"); wrap.querySelector(".row").classList.remove("low"); });
    if (isDate) { input.addEventListener("blur", () => checkDateInput(input)); if (f in edited) checkDateInput(input); }
    box.appendChild(wrap);
  }
}

function renderDuplicate() {
  const dups = batch.duplicates || [];
  $("#duplicate").hidden = !dups.length || batch.state !== "draft";
  if (!dups.length) return;
  const items = dups.map((d) => `hồ sơ ${d.dossier || "không có mã"} (số ${d.number}${d.issued_on ? ", ngày " + showVnDate(d.issued_on) : ""})`);
  $("#duplicate-text").textContent = `Giấy tờ này đã được lưu trong ${items.join("; ")}. ` +
    "Thường là quét nhầm: hãy kiểm tra lại mã hồ sơ. Chỉ lưu thêm khi chắc chắn cần.";
}

// --- actions -------------------------------------------------------------------------------

function dossierError(text) {
  const box = $("#dossier-error");
  box.hidden = !text;
  box.textContent = text || "";
  $("#dossier").setAttribute("aria-invalid", text ? "true" : "false");
}

async function checkDossier() {
  const d = $("#dossier").value.trim();
  if (!d) { dossierError(""); return true; }
  const s = await api("GET", "/api/suggest?dossier=" + encodeURIComponent(d));
  dossierError(s.problem);
  if (s.procedure && !$("#procedure").value) {
    ensureProcedureOption(s.procedure);
    $("#procedure").value = s.procedure;
    $("#procedure-hint").textContent = "gợi ý từ mã hồ sơ";
  }
  return !s.problem;
}

async function scan() {
  try {
    if (!(await checkDossier())) { $("#dossier").focus(); return; }
    const b = await currentBatch();
    await saveMeta();
    await api("POST", `/api/batches/${b.id}/scan`, {});
    showMessage("");
    wasBusy = true;
    await refreshBatch();
  } catch (e) { showMessage(e.message); }
}

async function saveMeta() {
  if (!batch || batch.state !== "draft") return;
  setBatch(await api("PUT", `/api/batches/${batch.id}`, { dossier: $("#dossier").value, procedure: $("#procedure").value }));
}

async function submit() {
  if (!batch || $("#submit-btn").disabled) return;
  if (!(await checkDossier())) { $("#dossier").focus(); return; }
  if (!$("#dossier").value.trim()) {
    dossierError("Chưa có mã hồ sơ. Nhập mã trên giấy tiếp nhận trước khi gửi.");
    $("#dossier").focus(); return;
  }
  const fields = {};
  let firstBad = null;
  document.querySelectorAll("#fields input").forEach((i) => {
    fields[i.dataset.field] = i.value;
    if (DATE_FIELDS.includes(i.dataset.field) && !checkDateInput(i) && !firstBad) firstBad = i;
  });
  if (firstBad) { firstBad.focus(); return; }
  $("#submit-btn").disabled = true;
  try {
    const b = await sendWhenRecognized({
      document_type: $("#doctype").value || null, fields, dossier: $("#dossier").value.trim(),
      procedure: $("#procedure").value, allow_duplicate: $("#allow-duplicate").checked });
    localStorage.removeItem("sohoa-batch");
    readyForNext(`Đã gửi hồ sơ ${b.dossier} (${b.pages.length} trang). Nhập mã hồ sơ tiếp theo rồi bấm Enter để quét.`);
    lastToday = 0;
    refreshToday();
  } catch (e) { showMessage(e.message); updateSubmit(); }
}

// Gửi pressed while an edit is on its way or the pages are being recognized again (after a
// rotation, say): wait for both, then send; give up after two minutes with the server's answer.
async function sendWhenRecognized(body) {
  const until = Date.now() + 120_000;
  for (;;) {
    await editing;
    if (batch.recognizing) {
      $("#submit-state").textContent = "Chờ nhận dạng xong để gửi…";
      await new Promise((r) => setTimeout(r, 500));
      await refreshBatch();
      if (Date.now() < until) continue;
    }
    try {
      return await api("POST", `/api/batches/${batch.id}/submit`, body);
    } catch (e) {
      if (e.status !== 409 || !batch.recognizing && !e.message.startsWith("Đang nhận dạng")
          || Date.now() >= until) throw e;
      $("#submit-state").textContent = "Chờ nhận dạng xong để gửi…";
      await new Promise((r) => setTimeout(r, 500));
      await refreshBatch();
    }
  }
}

// The page is ready for the next dossier: empty code (focused), no pages, no fields.
function readyForNext(message) {
  batch = null; edited = {}; editedType = null; lastRec = ""; wasBusy = false;
  $("#dossier").value = ""; $("#procedure").value = ""; $("#procedure-hint").textContent = "";
  dossierError("");
  $("#pages").innerHTML = ""; $("#pages").dataset.key = "";
  $("#fields").innerHTML = ""; $("#recognition").hidden = true; $("#duplicate").hidden = true;
  $("#allow-duplicate").checked = false;
  $("#empty-pages").hidden = false;
  $("#scan-btn").disabled = false; $("#submit-btn").disabled = true;
  $("#submit-state").textContent = ""; $("#scan-state").textContent = "";
  delete document.body.dataset.batchVersion;
  delete document.body.dataset.batch;
  showMessage(message || "", message ? "info" : "");
  $("#dossier").focus();
}

async function refreshToday() {
  try {
    const t = await api("GET", "/api/today");
    $("#today-date").textContent = t.day.split("-").reverse().join("/");
    const names = { queued: "Đang chờ", processing: "Đang xử lý", stored: "Đã lưu", needs_review: "Cần kiểm tra", failed: "Lỗi" };
    $("#counts").innerHTML = `<div class="count"><b>${t.total}</b>Đã gửi</div>` +
      Object.entries(names).map(([k, v]) => `<div class="count state-${k}"><b id="count-${k}">${t.counts[k]}</b>${v}</div>`).join("") +
      `<div class="count"><b>${t.pages}</b>Trang</div>`;
    const body = $("#today-list tbody");
    body.innerHTML = "";
    for (const it of t.items) {
      const tr = document.createElement("tr");
      tr.dataset.batch = it.id;
      const time = it.submitted_at ? it.submitted_at.slice(11, 16) : "";
      const reason = it.reason && it.state !== "stored" ? `<div class="reason">${escapeHtml(it.reason)}</div>` : "";
      const retry = it.state === "failed" ? ` <button data-retry="${it.id}">Gửi lại</button>` : "";
      tr.innerHTML = `<td>${time}</td><td>${escapeHtml(it.dossier || "—")}</td><td>${it.pages}</td>
        <td><span class="state ${it.state}">${it.state_vi}</span>${retry}${reason}</td>`;
      body.appendChild(tr);
    }
    $("#today-empty").hidden = t.items.length > 0;
  } catch (e) { /* the station may be restarting */ }
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
}

async function importFiles(ev) {
  const files = ev.target.files;
  if (!files.length) return;
  try {
    const b = await currentBatch();
    const form = new FormData();
    for (const f of files) form.append("files", f);
    wasBusy = true;
    setBatch(await api("POST", `/api/batches/${b.id}/import`, form));
  } catch (e) { showMessage(e.message); }
  ev.target.value = "";
}

async function start() {
  await loadInfo();
  $("#scan-btn").addEventListener("click", scan);
  $("#submit-btn").addEventListener("click", submit);
  $("#import-btn").addEventListener("click", () => $("#import-input").click());
  $("#new-btn").addEventListener("click", () => readyForNext(""));
  $("#dossier").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.ctrlKey) { ev.preventDefault(); if (!$("#scan-btn").disabled) scan(); }
  });
  $("#dossier").addEventListener("input", () => dossierError(""));
  $("#dossier").addEventListener("change", async () => { await checkDossier().catch(() => {}); if (batch && batch.state === "draft") saveMeta(); });
  $("#procedure").addEventListener("change", saveMeta);
  $("#doctype").addEventListener("change", () => { editedType = $("#doctype").value; lastRec = ""; renderRecognition(); });
  $("#import-input").addEventListener("change", importFiles);
  $("#allow-duplicate").addEventListener("change", updateSubmit);
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.ctrlKey) { ev.preventDefault(); submit(); }
    if ((ev.key === "n" || ev.key === "N") && ev.altKey) { ev.preventDefault(); readyForNext(""); }
  });
  $("#today-list").addEventListener("click", async (ev) => {
    const id = ev.target.dataset.retry;
    if (id) { try { await api("POST", `/api/batches/${id}/retry`); } catch (e) { showMessage(e.message); } refreshToday(); }
  });
  const saved = localStorage.getItem("sohoa-batch");
  if (saved) {
    try { const b = await api("GET", `/api/batches/${saved}`); if (b.state === "draft") setBatch(b); } catch (e) { localStorage.removeItem("sohoa-batch"); }
  }
  if (!batch) { $("#empty-pages").hidden = false; $("#scan-btn").disabled = false; }
  lastToday = Date.now();
  await refreshToday();
  schedule(SLOW);
  if (!batch) $("#dossier").focus();
  document.body.dataset.ready = "1";
}
start();
