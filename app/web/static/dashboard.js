"use strict";
// The orderhub console: plain JS against the JSON API, no build step.
const $ = (sel) => document.querySelector(sel);
let token = localStorage.getItem("orderhub-token") || "";
let charts = {};

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}

function duration(ms) {
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 120000) return (ms / 1000).toFixed(1) + " s";
  if (ms < 7200000) return Math.round(ms / 60000) + " min";
  if (ms < 172800000) return Math.round(ms / 3600000) + " h";
  return Math.round(ms / 86400000) + " d";
}

async function api(path, options = {}) {
  const response = await fetch(path, {...options, headers: {"Authorization": "Bearer " + token, "Content-Type": "application/json"}});
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function showError(err) {
  const box = $("#error");
  box.hidden = !err;
  box.textContent = err ? String(err.message || err) : "";
}

function chart(id, series, data, width) {
  const el = document.getElementById(id);
  const key = id + ":" + series.join(",");
  if (!charts[id] || charts[id].key !== key) {
    if (charts[id]) charts[id].plot.destroy();
    const palette = ["#1b5cc8", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285"];
    const opts = {width: width || el.clientWidth || 500, height: 180, legend: {show: true},
      scales: {x: {time: false}},
      series: [{label: "t"}, ...series.map((s, i) => ({label: s, stroke: palette[i % palette.length], width: 2}))]};
    charts[id] = {key, plot: new uPlot(opts, data, el)};
  } else {
    charts[id].plot.setData(data);
  }
}

async function refreshStats() {
  const s = await api("/api/stats");
  $("#intervention-rate").textContent = (100 * s.intervention_rate).toFixed(1) + " %";
  $("#touched").textContent = `${s.orders_touched} of ${s.orders_seen} orders`;
  $("#latency").textContent = s.latency_ms.samples ? `${duration(s.latency_ms.p50)} / ${duration(s.latency_ms.p99)}` : "–";
  $("#events-total").textContent = s.events_total;
  $("#workers").textContent = `${s.workers} worker(s)` + (s.unreachable.length ? `, ${s.unreachable.length} unreachable` : "");
  $("#lag").textContent = Object.values(s.consumer_lag).reduce((a, b) => a + b, 0);
  const dlq = Object.entries(s.dlq);
  $("#dlq").textContent = dlq.reduce((a, [, n]) => a + n, 0);
  $("#dlq-detail").textContent = dlq.filter(([, n]) => n).map(([t, n]) => `${t.split(".").slice(-2, -1)}: ${n}`).join(", ") || "none";
  $("#stuck").textContent = s.stuck;
  $("#pending").textContent = s.pending_approvals;
  const channels = Object.keys(s.throughput_per_s);
  const n = channels.length ? s.throughput_per_s[channels[0]].length : 60;
  const xs = Array.from({length: n}, (_, i) => (i - n + 1) * s.bucket_s);
  chart("throughput-chart", channels.length ? channels : ["none"],
        [xs, ...(channels.length ? channels.map((c) => s.throughput_per_s[c]) : [xs.map(() => 0)])]);
  const kinds = Object.keys(s.interventions_per_hour);
  const hours = Array.from({length: 24}, (_, i) => i - 23);
  chart("interventions-chart", kinds.length ? kinds : ["none"],
        [hours, ...(kinds.length ? kinds.map((k) => s.interventions_per_hour[k]) : [hours.map(() => 0)])]);
  $("#interventions tbody").innerHTML = kinds.map((k) => {
    const per = s.interventions_per_hour[k];
    return `<tr><td>${esc(k)}</td><td>${per[per.length - 1]}</td><td>${per.reduce((a, b) => a + b, 0)}</td></tr>`;
  }).join("");
}

let approvalsKey = "";
async function refreshApprovals() {
  const {approvals} = await api("/api/approvals?state=pending");
  const key = JSON.stringify(approvals.map((a) => [a.approval_id, a.approvers]));
  if (key === approvalsKey) return;  // keep what the approver is typing
  approvalsKey = key;
  $("#approvals tbody").innerHTML = approvals.map((a) => `
    <tr data-approval="${esc(a.approval_id)}">
      <td><a data-oli="${esc(a.oli)}">${esc(a.oli)}</a></td>
      <td>${esc(a.command.action)} ${esc(JSON.stringify(a.command.params))}</td>
      <td>${esc(a.requested_by)}</td><td>${a.approvers.length} of ${a.levels}: ${esc(a.approvers.join(", "))}</td>
      <td><input class="reason" placeholder="reason" aria-label="reason"></td>
      <td><button class="approve">Approve</button> <button class="reject">Reject</button></td>
    </tr>`).join("");
}

async function decide(row, decision) {
  const reason = row.querySelector(".reason").value.trim();
  if (!reason) { showError("give a reason"); return; }
  await api(`/api/approvals/${encodeURIComponent(row.dataset.approval)}/${decision}`,
            {method: "POST", body: JSON.stringify({reason})});
  row.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  row.classList.add("sent");
}

async function search(event) {
  event?.preventDefault();
  const params = new URLSearchParams({limit: "50"});
  if ($("#q").value.trim()) params.set("q", $("#q").value.trim());
  if ($("#status").value) params.set("status", $("#status").value);
  const {orders} = await api("/api/orders?" + params);
  $("#results tbody").innerHTML = orders.map((o) => `
    <tr><td><a data-oli="${esc(o.oli)}">${esc(o.oli)}</a></td><td>${esc(o.status)}</td><td>${esc(o.holds.join(", "))}</td>
    <td>${esc(o.fulfillment)}</td><td>${esc(o.updated_at)}</td></tr>`).join("") || `<tr><td colspan="5">no orders found</td></tr>`;
}

async function showOrder(oli) {
  const path = "/api/orders/" + encodeURIComponent(oli);
  const [view, history] = await Promise.all([api(path), api(path + "/history")]);
  $("#detail").hidden = false;
  $("#detail-title").textContent = `${oli} · v${view.order.version} · ${view.order.status}` + (view.stuck ? ` · stuck: ${view.stuck}` : "");
  $("#detail-order").textContent = JSON.stringify({receiver: view.order.receiver, holds: view.order.holds,
    fulfillment: view.order.fulfillment, amounts: view.order.amounts}, null, 2);
  $("#timeline").innerHTML = history.entries.map((e) => e.kind === "audit"
    ? `<li class="audit">${esc(e.at)} · <b>${esc(e.action)}</b> ${esc(e.command)} by ${esc(e.actor)} (${esc(e.role)}) ${esc(e.reason)}</li>`
    : `<li>${esc(e.at)} · <b>${esc(e.type)}</b> v${esc(e.version)} · ${esc(e.status)} · ${esc(e.cause.source)} ${esc(e.fulfillment)}</li>`).join("");
}

async function refresh() {
  if (!token) { showError("enter an API token"); return; }
  try {
    const me = await api("/api/me");
    $("#who").textContent = `${me.name} (${me.role})`;
    await Promise.all([refreshStats(), refreshApprovals()]);
    showError(null);
  } catch (err) { showError(err); }
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-oli]");
  if (link) showOrder(link.dataset.oli).catch(showError);
  const row = event.target.closest("tr[data-approval]");
  if (row && event.target.matches("button.approve")) decide(row, "approve").catch(showError);
  if (row && event.target.matches("button.reject")) decide(row, "reject").catch(showError);
});
$("#search").addEventListener("submit", (e) => search(e).catch(showError));
$("#login").addEventListener("submit", (e) => {
  e.preventDefault();
  token = $("#token").value.trim();
  localStorage.setItem("orderhub-token", token);
  $("#token").value = "";
  refresh();
});
refresh();
setInterval(refresh, 2000);
