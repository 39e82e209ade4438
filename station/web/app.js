// sohoa station page: one batch at a time, polled while the scanner or the recognizer works.
"use strict";
const $ = (sel) => document.querySelector(sel);
let info = null, batch = null, edited = {}, editedType = null, lastRec = "", polling = null;

async function api(method, url, body) {
  const opts = { method, headers: {} };
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  const resp = await fetch(url, opts);
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.detail || ("Lỗi " + resp.status));
  return data;
}

function showMessage(text, kind) {
  const box = $("#message");
  box.hidden = !text;
  box.textContent = text || "";
  box.className = "message" + (kind ? " " + kind : "");
}

async function loadInfo() {
  info = await api("GET", "/api/info");
  const mode = info.mode === "server" ? "gửi về máy chủ " + info.server : "lưu trữ ngay trên máy này";
  $("#station-info").textContent = `Máy quét: ${info.scanner || "chưa cấu hình"} · Đơn vị: ${info.unit} · ${mode}`;
  const sel = $("#procedure");
  for (const [code, name] of Object.entries(info.procedures)) {
    const o = document.createElement("option"); o.value = code; o.textContent = `${code} — ${name}`; sel.appendChild(o);
  }
  const dt = $("#doctype");
  dt.innerHTML = '<option value="">— Chưa xác định —</option>';
  for (const t of info.doctypes) {
    const o = document.createElement("option"); o.value = t.code; o.textContent = t.name; dt.appendChild(o);
  }
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
  edited = {}; editedType = null; lastRec = "";
  setBatch(b);
  localStorage.setItem("sohoa-batch", b.id);
  return b;
}

async function currentBatch() {
  if (batch && batch.state === "draft") return batch;
  return newBatch();
}

function setBatch(b) {
  batch = b;
  if (document.activeElement !== $("#dossier")) $("#dossier").value = b.dossier || "";
  ensureProcedureOption(b.procedure);
  if (document.activeElement !== $("#procedure")) $("#procedure").value = b.procedure || "";
  renderPages();
  renderRecognition();
  const scanning = !!b.scanning;
  $("#scan-btn").disabled = scanning || b.state !== "draft";
  $("#scan-btn").textContent = b.pages.length ? "Quét tiếp" : "Quét";
  $("#scan-state").textContent = scanning ? "Đang quét… " + b.pages.length + " trang" : "";
  if (b.state !== "draft") showMessage(`Đã gửi hồ sơ ${b.dossier || b.id} (${b.pages.length} trang).`, "info");
  else if (b.scan_error) showMessage(b.scan_error.vi + (b.pages.length ? ` Các trang đã quét (${b.pages.length}) vẫn được giữ.` : ""));
  else if (b.qr && b.qr.dossier) showMessage(`Đã đọc mã hồ sơ ${b.qr.dossier} từ mã QR trên trang 1.`, "info");
  else showMessage("");
  $("#submit-btn").disabled = scanning || !b.pages.length || b.state !== "draft";
  $("#submit-state").textContent = b.state !== "draft" ? "Đã gửi — trạng thái: " + stateVi(b.state) : "";
  const busy = scanning || b.recognizing || b.state === "queued" || b.state === "processing";
  if (busy && !polling) polling = setInterval(refreshBatch, scanning ? 300 : 1000);
  if (!busy && polling) { clearInterval(polling); polling = null; }
}

function stateVi(s) {
  return { draft: "chưa gửi", queued: "đang chờ", processing: "đang xử lý", stored: "đã lưu",
           needs_review: "cần kiểm tra", failed: "lỗi" }[s] || s;
}

async function refreshBatch() {
  if (!batch) return;
  try { setBatch(await api("GET", `/api/batches/${batch.id}`)); } catch (e) { /* keep polling */ }
}

function renderPages() {
  const box = $("#pages");
  const key = JSON.stringify(batch.pages.map((p) => [p.id, p.rotation, p.thumb_version || 0]));
  $("#empty-pages").hidden = batch.pages.length > 0;
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.innerHTML = "";
  batch.pages.forEach((p, i) => {
    const div = document.createElement("div");
    div.className = "page"; div.dataset.page = p.id;
    div.innerHTML = `<img alt="Trang ${i + 1}" src="/api/batches/${batch.id}/pages/${p.id}/thumb?v=${p.rotation}-${p.thumb_version || 0}">
      <div class="num">Trang ${i + 1}${p.side === "back" ? " (mặt sau)" : ""}</div>
      <div class="tools">
        <button data-act="rotate" title="Xoay 90°">⟳ Xoay</button>
        <button data-act="left" title="Chuyển lên trước" ${i === 0 ? "disabled" : ""}>◀</button>
        <button data-act="right" title="Chuyển ra sau" ${i === batch.pages.length - 1 ? "disabled" : ""}>▶</button>
        <button data-act="rescan">Quét lại</button>
        <button data-act="delete">Xóa</button>
      </div>`;
    div.querySelector(".tools").addEventListener("click", (ev) => pageAction(p.id, i, ev.target.dataset.act));
    box.appendChild(div);
  });
}

async function pageAction(pageId, index, act) {
  if (!act || batch.state !== "draft") return;
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
  const rec = batch.recognition;
  const panel = $("#recognition");
  panel.hidden = !batch.pages.length;
  $("#rec-state").textContent = batch.recognizing ? "— đang nhận dạng…" : (rec && rec.error ? "— không nhận dạng được" : "");
  const key = JSON.stringify(rec);
  if (key === lastRec) return;
  lastRec = key;
  const labels = info.field_labels;
  const fields = (rec && rec.fields) || {};
  const conf = (rec && rec.field_confidence) || {};
  const low = new Set((rec && rec.low) || []);
  const dt = $("#doctype");
  dt.value = editedType ?? (batch.document_type || (rec && rec.document_type) || "");
  $("#doctype-row").classList.toggle("low", !editedType && (!rec || low.has("document_type")));
  const type = info.doctypes.find((t) => t.code === dt.value);
  const names = Object.keys(labels).filter((f) => f in fields || (type && type.required.includes(f)));
  const box = $("#fields");
  box.innerHTML = "";
  for (const f of names) {
    const row = document.createElement("div");
    const isLow = !(f in edited) && (low.has(f) || !fields[f]);
    row.className = "row" + (isLow ? " low" : "");
    const pct = conf[f] !== undefined ? Math.round(conf[f] * 100) + "%" : "";
    row.innerHTML = `<label for="field-${f}">${labels[f]}</label><input id="field-${f}" data-field="${f}">
      <span class="note">${isLow ? "cần kiểm tra " + pct : pct}</span>`;
    const input = row.querySelector("input");
    input.value = f in edited ? edited[f] : (fields[f] || "");
    input.addEventListener("input", () => { edited[f] = input.value; row.classList.remove("low"); });
    box.appendChild(row);
  }
}

async function scan() {
  try {
    const b = await currentBatch();
    await saveMeta();
    await api("POST", `/api/batches/${b.id}/scan`, {});
    showMessage("");
    await refreshBatch();
  } catch (e) { showMessage(e.message); }
}

async function saveMeta() {
  if (!batch || batch.state !== "draft") return;
  batch = await api("PUT", `/api/batches/${batch.id}`, { dossier: $("#dossier").value, procedure: $("#procedure").value });
}

async function submit() {
  if (!batch) return;
  const dossier = $("#dossier").value.trim();
  if (!dossier && !confirm("Chưa có mã hồ sơ. Vẫn gửi?")) return;
  const fields = {};
  document.querySelectorAll("#fields input").forEach((i) => { fields[i.dataset.field] = i.value; });
  $("#submit-btn").disabled = true;
  try {
    const b = await api("POST", `/api/batches/${batch.id}/submit`, {
      document_type: $("#doctype").value || null, fields, dossier, procedure: $("#procedure").value });
    setBatch(b);
    localStorage.removeItem("sohoa-batch");
    refreshToday();
  } catch (e) { showMessage(e.message); $("#submit-btn").disabled = false; }
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

async function suggest() {
  const d = $("#dossier").value.trim();
  if (!d) return;
  const s = await api("GET", "/api/suggest?dossier=" + encodeURIComponent(d));
  if (s.procedure && !$("#procedure").value) {
    ensureProcedureOption(s.procedure);
    $("#procedure").value = s.procedure;
    $("#procedure-hint").textContent = "gợi ý từ mã hồ sơ";
  }
  if (batch && batch.state === "draft") saveMeta();
}

async function importFiles(ev) {
  const files = ev.target.files;
  if (!files.length) return;
  const b = await currentBatch();
  const form = new FormData();
  for (const f of files) form.append("files", f);
  try { setBatch(await api("POST", `/api/batches/${b.id}/import`, form)); } catch (e) { showMessage(e.message); }
  ev.target.value = "";
}

async function start() {
  await loadInfo();
  $("#scan-btn").addEventListener("click", scan);
  $("#submit-btn").addEventListener("click", submit);
  $("#new-btn").addEventListener("click", async () => { $("#dossier").value = ""; $("#procedure").value = ""; await newBatch(); showMessage(""); });
  $("#dossier").addEventListener("change", suggest);
  $("#procedure").addEventListener("change", saveMeta);
  $("#doctype").addEventListener("change", () => { editedType = $("#doctype").value; lastRec = ""; renderRecognition(); });
  $("#import-input").addEventListener("change", importFiles);
  $("#today-list").addEventListener("click", async (ev) => {
    const id = ev.target.dataset.retry;
    if (id) { await api("POST", `/api/batches/${id}/retry`); refreshToday(); }
  });
  const saved = localStorage.getItem("sohoa-batch");
  if (saved) {
    try { const b = await api("GET", `/api/batches/${saved}`); if (b.state === "draft") setBatch(b); } catch (e) { localStorage.removeItem("sohoa-batch"); }
  }
  if (!batch) { $("#empty-pages").hidden = false; $("#scan-btn").disabled = false; }
  refreshToday();
  setInterval(refreshToday, 1500);
  document.body.dataset.ready = "1";
}
start();
