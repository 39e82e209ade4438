// The batch view: scan a stack, review how it was split, move a boundary, commit.
"use strict";

const $ = (sel) => document.querySelector(sel);
let current = null;
let polling = null;

async function call(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.detail || `Lỗi ${res.status}`);
  return data;
}

function say(text, kind = "error") {
  const box = $("#message");
  box.hidden = !text;
  box.className = `message ${kind}`;
  box.textContent = text || "";
}

const KIND_VI = { separator: "tờ phân cách", blank: "trang trắng", first: "trang đầu", other: "" };

// what a separator sheet carried: a patch code (batch.patchcode) or a dossier code (QR)
function separatorCode(page) {
  if (page.kind !== "separator") return "";
  if (page.patch) return ` (mã patch ${page.patch})`;
  return page.dossier ? ` (hồ sơ ${page.dossier})` : "";
}

function thumb(batch, page, actions) {
  const div = document.createElement("div");
  div.className = "thumb";
  div.dataset.page = page.index;
  const img = document.createElement("img");
  // the file in the address: the browser keeps the thumbnail while the page re-renders
  img.src = `/api/lo/${batch.id}/pages/${page.index}/thumb?v=${encodeURIComponent(page.file)}`;
  img.alt = `Trang ${page.index + 1}`;
  div.append(img);
  const label = document.createElement("span");
  const side = page.side === "back" ? " (mặt sau)" : "";
  label.textContent = `Trang ${page.index + 1}${side} ${KIND_VI[page.kind] || ""}${separatorCode(page)}`.trim();
  div.append(label);
  for (const [act, text] of actions) {
    const btn = document.createElement("button");
    btn.dataset.act = act;
    btn.textContent = text;
    btn.onclick = () => boundary(batch.id, page.index, act === "start");
    div.append(btn);
  }
  return div;
}

function render(batch) {
  current = batch;
  const busy = ["scanning", "examining", "committing"].includes(batch.state);
  $("#state").textContent = `Lô ${batch.id}: ${batch.state_vi}`;
  $("#state").dataset.state = batch.state;
  if (batch.message) say(batch.message); else say("");
  $("#more-btn").disabled = busy;
  $("#new-btn").disabled = busy;
  $("#commit-btn").disabled = busy || !batch.split || batch.state === "done";
  const docs = $("#docs");
  docs.replaceChildren();
  const pages = Object.fromEntries(batch.pages.map((p) => [p.index, p]));
  // while a load is scanned and examined: the split of the pages examined so far, not editable
  const provisional = !batch.split && batch.provisional;
  const split = batch.split || batch.provisional;
  if (!split || (provisional && !split.documents.length && !split.dropped.length)) {
    $("#summary").textContent = `${batch.pages.length} trang đã quét` +
      (provisional ? `, đã xem ${provisional.examined} trang` : "");
    return;
  }
  $("#summary").textContent = provisional
    ? `${batch.pages.length} trang đã quét, đã xem ${provisional.examined} trang — tạm tách được ` +
      `${split.documents.length} văn bản (văn bản cuối có thể còn thêm trang)`
    : `${batch.pages.length} trang, ${split.documents.length} văn bản, ` +
      `${split.dropped.length} trang bỏ qua (mặt sau trắng, tờ phân cách, tờ trắng)` +
      (batch.committed ? ` — đã lưu ${batch.committed.stored}, chờ duyệt ${batch.committed.needs_review}, ` +
        `bị từ chối ${batch.committed.refused}` : "");
  split.documents.forEach((doc, n) => {
    const card = document.createElement("div");
    card.className = provisional ? "doc provisional" : "doc";
    const title = document.createElement("h3");
    title.textContent = `Văn bản ${n + 1} — ${doc.pages.length} trang` +
      (doc.dossier ? ` — hồ sơ ${doc.dossier}` : "") + (provisional ? " (tạm)" : "");
    card.append(title);
    const row = document.createElement("div");
    row.className = "thumbs";
    doc.pages.forEach((index, i) => {
      const actions = provisional ? [] : i === 0
        ? (n > 0 ? [["join", "Gộp vào văn bản trước"]] : [])
        : [["start", "Tách văn bản từ trang này"]];
      row.append(thumb(batch, pages[index], actions));
    });
    card.append(row);
    docs.append(card);
  });
  if (split.dropped.length) {
    const card = document.createElement("div");
    card.className = "doc dropped";
    const title = document.createElement("h3");
    title.textContent = "Trang bỏ qua";
    const row = document.createElement("div");
    row.className = "thumbs";
    split.dropped.forEach((index) => row.append(thumb(batch, pages[index], [])));
    card.append(title, row);
    docs.append(card);
  }
}

async function refresh() {
  if (!current) return;
  const batch = await call("GET", `/api/lo/${current.id}`);
  render(batch);
  const busy = ["scanning", "examining", "committing"].includes(batch.state);
  if (!busy && polling) { clearInterval(polling); polling = null; loadList(); }
}

function poll() {
  if (!polling) polling = setInterval(() => refresh().catch((e) => say(e.message)), 700);
}

async function scan(append) {
  try {
    const body = { duplex: $("#duplex").checked, split: $("#split").value,
                   scanner: $("#scanner").value || null };
    if (append && current) body.batch_id = current.id;
    const { batch_id } = await call("POST", "/api/lo/scan", body);
    current = { id: batch_id };
    await refresh();
    poll();
  } catch (e) { say(e.message); }
}

async function boundary(id, page, start) {
  try { render(await call("POST", `/api/lo/${id}/boundary`, { page, start })); }
  catch (e) { say(e.message); }
}

async function commit() {
  try {
    await call("POST", `/api/lo/${current.id}/commit`, { procedure: $("#procedure").value || null });
    await refresh();
    poll();
  } catch (e) { say(e.message); }
}

async function loadList() {
  const list = await call("GET", "/api/lo");
  const ul = $("#batches");
  ul.replaceChildren();
  for (const b of list) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#";
    a.textContent = `${b.id} — ${b.pages} trang — ${b.state_vi}`;
    a.onclick = async (ev) => { ev.preventDefault(); current = { id: b.id }; await refresh(); };
    li.append(a);
    ul.append(li);
  }
}

async function loadScanners() {
  const select = $("#scanner");
  for (const d of await call("GET", "/api/lo/scanners")) {
    const opt = document.createElement("option");
    opt.value = d.uri;
    opt.textContent = `${d.label} — ${d.uri}`;
    select.append(opt);
  }
}

$("#new-btn").onclick = () => scan(false);
$("#more-btn").onclick = () => scan(true);
$("#commit-btn").onclick = commit;
Promise.all([loadList(), loadScanners()]).then(() => document.body.dataset.ready = "1").catch((e) => say(e.message));
