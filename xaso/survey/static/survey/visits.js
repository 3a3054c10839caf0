// Household visits offline (/khao-sat/). The village's households and the queue of visits live
// in this phone's localStorage; a visit is saved here first, with a fresh idempotency key and
// the household version it saw, then sent in chunks of 50 to the batch endpoint. Only visits
// the server accepted (200/201) leave the queue; refused ones stay with the reason; on a network
// error everything stays and is sent again on the `online` event and on a timer.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("survey-config").textContent);
  var CHUNK = 50, RETRY_MS = 30000, TIMEOUT_MS = 60000, SHOWN = 30, SENT_KEPT = 20;
  var prefix = "xaso.survey." + cfg.user + ".";
  var $ = function (id) { return document.getElementById(id); };

  // --- Storage ---------------------------------------------------------------------------------
  function load(name, fallback) {
    try {
      var raw = localStorage.getItem(prefix + name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (error) { return fallback; }
  }
  function save(name, value) { localStorage.setItem(prefix + name, JSON.stringify(value)); }
  function queue() { return load("queue", []); }
  function listOf(village) { return load("households." + village, null); }

  // --- Small helpers ---------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "hidden" || name === "checked") node[name] = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)), hex = [];
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) hex.push((b[i] + 256).toString(16).slice(1));
    return hex.slice(0, 4).join("") + "-" + hex.slice(4, 6).join("") + "-" + hex.slice(6, 8).join("") +
      "-" + hex.slice(8, 10).join("") + "-" + hex.slice(10).join("");
  }
  function today() {
    var d = new Date();
    return d.getFullYear() + "-" + ("0" + (d.getMonth() + 1)).slice(-2) + "-" + ("0" + d.getDate()).slice(-2);
  }
  function dmy(iso) { return iso ? iso.split("-").reverse().join("/") : ""; }
  function fold(text) {
    return (text || "").toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "d");
  }
  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var field = document.querySelector("[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }
  function label(household) {
    return household.head_name + (household.code ? " · " + household.code : "");
  }

  // --- The household list ----------------------------------------------------------------------
  var village = $("village"), current = null;
  var remembered = load("village", "");
  if (cfg.villages.some(function (v) { return v.code === remembered; })) village.value = remembered;

  function households() {
    var cached = listOf(village.value);
    return cached ? cached.households : [];
  }

  // The visit's answers written into the cached household, as the server will write them.
  function applyVisit(list, item) {
    var household = list.filter(function (h) { return h.id === item.payload.household; })[0];
    if (!household) return;
    var answers = item.payload.answers;
    household.household_status = Object.assign({}, household.household_status, answers.household);
    household.residents.forEach(function (resident) {
      var given = answers.residents[resident.id];
      if (!given) return;
      var status = Object.assign({}, resident.status);
      cfg.residentItems.forEach(function (pair) { status[pair[0]] = !!given[pair[0]]; });
      resident.status = status;
    });
    household.last_visited_on = item.payload.visited_on;
    household.follow_up_on = item.payload.follow_up_on || null;
  }

  function storeList(code, list) {
    queue().forEach(function (item) { if (item.village === code) applyVisit(list, item); });
    save("households." + code, { fetched_at: new Date().toISOString(), households: list });
  }

  function fetchJSON(url, options) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    options = Object.assign({ credentials: "same-origin", signal: controller && controller.signal }, options);
    return fetch(url, options).then(function (response) {
      clearTimeout(timer);
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { status: response.status, ok: response.ok, body: body };
      });
    }, function (error) { clearTimeout(timer); throw error; });
  }

  function downloadList() {
    var code = village.value;
    $("list-status").textContent = "Đang tải danh sách hộ…";
    return fetchJSON(cfg.households + "?village=" + encodeURIComponent(code)).then(function (answer) {
      if (!answer.ok) throw new Error(answer.body.detail || "Mã lỗi " + answer.status);
      var list = Array.isArray(answer.body) ? answer.body : answer.body.items || [];
      storeList(code, list);
      showList();
    }).catch(function (error) {
      showList(error.name === "TypeError" || error.name === "AbortError" ? "" : error.message);
    });
  }

  function showList(problem) {
    var cached = listOf(village.value);
    var text = cached
      ? cached.households.length + " hộ, lưu trên máy lúc " + new Date(cached.fetched_at).toLocaleString("vi-VN")
      : "Chưa có danh sách hộ trên máy: cần có mạng để tải lần đầu.";
    if (problem) text += " · Không tải lại được: " + problem;
    $("list-status").textContent = text;
    $("new-household").href = cfg.newHousehold + "?village=" + encodeURIComponent(village.value);
    search();
  }

  function search() {
    var words = fold($("household-search").value).split(/\s+/).filter(Boolean);
    var waiting = {};
    queue().forEach(function (item) { waiting[item.payload.household] = true; });
    var found = households().filter(function (h) {
      var text = fold([h.head_name, h.code, h.address].join(" "));
      return words.every(function (word) { return text.indexOf(word) >= 0; });
    });
    var list = $("household-list");
    list.textContent = "";
    found.slice(0, SHOWN).forEach(function (h) {
      var notes = [h.address, h.last_visited_on ? "đã thăm " + dmy(h.last_visited_on) : "chưa thăm"];
      if (waiting[h.id]) notes.push("có lượt thăm chờ gửi");
      var button = el("button", { type: "button", "data-household": h.id }, [
        el("span", { text: label(h) }), el("small", { text: notes.filter(Boolean).join(" · ") })]);
      button.addEventListener("click", function () { openForm(h, null); });
      list.appendChild(el("li", {}, [button]));
    });
    if (found.length > SHOWN) list.appendChild(el("li", { class: "muted", text: "… và " + (found.length - SHOWN) + " hộ nữa: gõ thêm để thu hẹp." }));
  }

  // --- The visit form --------------------------------------------------------------------------
  var form = $("visit-form");

  function checkbox(resident, code, kind, checked, name) {
    return el("input", { type: "checkbox", "data-resident": resident, "data-item": code, "data-kind": kind,
      "aria-label": name, checked: !!checked });
  }

  // `edited`: a refused queue item opened again to be corrected.
  function openForm(household, edited) {
    current = { household: household, edited: edited };
    var payload = edited ? edited.payload : null;
    var answers = payload ? payload.answers : { household: household.household_status || {}, residents: {} };
    $("visit-household").textContent = label(household);
    $("visit-address").textContent = household.address || "";
    $("visited-on").value = payload ? payload.visited_on : today();
    $("visited-on").max = today();
    $("notes").value = payload ? payload.notes : "";
    $("follow-up-on").value = payload && payload.follow_up_on ? payload.follow_up_on : "";
    $("form-error").textContent = "";
    var box = $("residents");
    box.textContent = "";
    household.residents.forEach(function (resident) {
      var given = answers.residents[resident.id] || resident.status || {};
      var helped = given.helped || [];
      var rows = cfg.residentItems.map(function (pair) {
        var code = pair[0], name = pair[1];
        var yes = checkbox(resident.id, code, "status", given[code], resident.full_name + ": " + name);
        var help = checkbox(resident.id, code, "helped", helped.indexOf(code) >= 0, "Hôm nay đã giúp " + resident.full_name + ": " + name);
        help.addEventListener("change", function () { if (help.checked) yes.checked = true; });
        return el("div", { class: "check" }, [
          el("label", {}, [yes, document.createTextNode(" " + name)]),
          el("label", { class: "helped" }, [help, document.createTextNode(" hôm nay đã giúp")])]);
      });
      var year = resident.birth_year ? " (" + resident.birth_year + ")" : "";
      box.appendChild(el("fieldset", { class: "resident" }, [el("legend", { text: resident.full_name + year })].concat(rows)));
    });
    if (!household.residents.length) box.appendChild(el("p", { class: "muted", text: "Hộ chưa có nhân khẩu nào trong danh sách." }));
    form.querySelectorAll("#household-items [data-kind=status]").forEach(function (input) {
      input.checked = !!(answers.household || {})[input.dataset.item];
    });
    form.hidden = false;
    $("pick").hidden = true;
    $("visited-on").focus();
  }

  function closeForm() {
    current = null;
    form.hidden = true;
    $("pick").hidden = false;
  }

  function collect() {
    var answers = { household: {}, residents: {} };
    current.household.residents.forEach(function (resident) { answers.residents[resident.id] = { helped: [] }; });
    form.querySelectorAll("#residents input[type=checkbox]").forEach(function (input) {
      var given = answers.residents[input.dataset.resident];
      if (input.dataset.kind === "helped") { if (input.checked) given.helped.push(input.dataset.item); }
      else given[input.dataset.item] = input.checked;
    });
    form.querySelectorAll("#household-items [data-kind=status]").forEach(function (input) {
      answers.household[input.dataset.item] = input.checked;
    });
    var payload = {
      household: current.household.id,
      visited_on: $("visited-on").value,
      notes: $("notes").value.trim(),
      answers: answers
    };
    if ($("follow-up-on").value) payload.follow_up_on = $("follow-up-on").value;
    var base = current.edited ? current.edited.payload.base_version : current.household.version;
    if (base !== undefined && base !== null) payload.base_version = base;
    return payload;
  }

  function problemWith(payload) {
    if (!payload.visited_on) return "Vui lòng nhập ngày thăm.";
    if (payload.visited_on > today()) return "Ngày thăm không được ở tương lai.";
    if (payload.follow_up_on && payload.follow_up_on < payload.visited_on) return "Ngày hẹn quay lại không được trước ngày thăm.";
    return "";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var payload = collect(), problem = problemWith(payload);
    if (problem) { $("form-error").textContent = problem; return; }
    var items = queue();
    if (current.edited) items = items.filter(function (item) { return item.key !== current.edited.key; });
    // A corrected visit is a new one to the server: a fresh key, never the refused one's.
    var item = { key: uuid(), village: village.value, label: label(current.household), state: "pending",
      detail: "", saved_at: new Date().toISOString(), payload: payload };
    items.push(item);
    save("queue", items);
    var cached = listOf(village.value);
    if (cached) { applyVisit(cached.households, item); save("households." + village.value, cached); }
    closeForm();
    $("household-search").value = "";
    showList();
    showQueue();
    sync();
  });
  $("cancel-visit").addEventListener("click", closeForm);

  // --- The queue -------------------------------------------------------------------------------
  function showQueue() {
    var items = queue(), waiting = items.filter(function (i) { return i.state === "pending"; }).length;
    var refused = items.length - waiting;
    $("queue-count").textContent = waiting + " lượt thăm chờ gửi" + (refused ? ", " + refused + " bị từ chối" : "");
    var list = $("queue");
    list.textContent = "";
    items.forEach(function (item) {
      var state = item.state === "pending" ? "chờ gửi" : "bị từ chối: " + item.detail;
      var li = el("li", { class: item.state, "data-key": item.key }, [
        el("span", { text: item.label }), el("small", { text: "Ngày thăm " + dmy(item.payload.visited_on) }),
        el("span", { class: "state", text: state })]);
      if (item.state === "refused") {
        var fix = el("button", { type: "button", class: "secondary", text: "Sửa" });
        var drop = el("button", { type: "button", class: "secondary", text: "Bỏ" });
        fix.addEventListener("click", function () { edit(item); });
        drop.addEventListener("click", function () { discard(item); });
        li.appendChild(el("p", { class: "row" }, [fix, drop]));
      }
      list.appendChild(li);
    });
    var sent = $("sent");
    sent.textContent = "";
    load("sent", []).forEach(function (item) {
      var state = item.conflict ? "xung đột: " + item.conflict : "đã gửi";
      sent.appendChild(el("li", { class: item.conflict ? "conflict" : "sent", "data-key": item.key }, [
        el("span", { text: item.label }), el("small", { text: "Ngày thăm " + dmy(item.visited_on) }),
        el("span", { class: "state", text: state })]));
    });
  }

  function edit(item) {
    if (item.village !== village.value) { village.value = item.village; villageChanged(); }
    var household = households().filter(function (h) { return h.id === item.payload.household; })[0];
    if (!household) { alert("Không còn hộ này trong danh sách trên máy; hãy bỏ lượt thăm này."); return; }
    openForm(household, item);
  }

  function discard(item) {
    if (!window.confirm("Bỏ lượt thăm " + item.label + "? Lượt thăm này sẽ không được gửi.")) return;
    save("queue", queue().filter(function (other) { return other.key !== item.key; }));
    showQueue();
    search();
  }

  function conflictText(visit) {
    var conflicts = (visit && visit.conflicts) || [];
    if (!conflicts.length || visit.conflicts_resolved_at) return "";
    return conflicts.length + " mục khác với lượt thăm mới hơn của người khác; tổ trưởng sẽ xem xét.";
  }

  // Results of one chunk: accepted visits leave the queue, refused ones stay with the reason.
  function record(results) {
    var byKey = {};
    results.forEach(function (result) { byKey[result.idempotency_key] = result; });
    var sent = load("sent", []), kept = [];
    queue().forEach(function (item) {
      var result = byKey[item.key];
      if (result && (result.status === 200 || result.status === 201)) {
        sent.unshift({ key: item.key, label: item.label, visited_on: item.payload.visited_on,
          conflict: conflictText(result.visit), status: result.status });
        return;
      }
      if (result && result.status >= 400 && result.status < 500) {
        item.state = "refused";
        item.detail = result.detail || "mã " + result.status;
      }
      kept.push(item);
    });
    save("queue", kept);
    save("sent", sent.slice(0, SENT_KEPT));
  }

  var running = null;
  function sync() {
    if (!running) running = send().then(function () { running = null; }, function () { running = null; });
    return running;
  }

  function send() {
    var pending = queue().filter(function (item) { return item.state === "pending"; });
    if (!pending.length) return Promise.resolve();
    if (navigator.onLine === false) { status("Mất mạng: lượt thăm được giữ trên máy và sẽ tự gửi khi có mạng."); return Promise.resolve(); }
    var chunks = [];
    for (var i = 0; i < pending.length; i += CHUNK) chunks.push(pending.slice(i, i + CHUNK));
    status("Đang gửi " + pending.length + " lượt thăm…");
    var sent = 0;
    return chunks.reduce(function (previous, chunk) {
      return previous.then(function () {
        var visits = chunk.map(function (item) { return Object.assign({ idempotency_key: item.key }, item.payload); });
        return fetchJSON(cfg.batch, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
          body: JSON.stringify({ visits: visits })
        }).then(function (answer) {
          if (answer.status === 401) throw new Error("Phiên đăng nhập đã hết: hãy đăng nhập lại để gửi.");
          if (!answer.ok) throw new Error("Máy chủ chưa nhận (" + (answer.body.detail || "mã " + answer.status) + "); sẽ thử lại.");
          record(answer.body.results || []);
          sent += chunk.length;
          showQueue();
        });
      });
    }, Promise.resolve()).then(function () {
      var left = queue().filter(function (item) { return item.state === "pending"; }).length;
      status(left ? left + " lượt thăm chưa gửi; sẽ thử lại." : "Đã gửi hết lúc " + new Date().toLocaleTimeString("vi-VN") + ".");
      return downloadList();
    }).catch(function (error) {
      var offline = error.name === "TypeError" || error.name === "AbortError";
      status(offline ? "Mất mạng khi đang gửi: lượt thăm chưa gửi vẫn được giữ trên máy và sẽ tự gửi lại." : error.message);
      showQueue();
    });
  }

  function status(text) { $("sync-status").textContent = text; }

  // --- Network, service worker, start ----------------------------------------------------------
  var offlineReady = false;
  function showNetwork() {
    var online = navigator.onLine !== false;
    var text = online ? "Đang có mạng." : "Mất mạng: vẫn ghi được lượt thăm, sẽ gửi khi có mạng.";
    if (offlineReady) text += " Ứng dụng đã sẵn sàng dùng khi mất mạng.";
    $("net-status").textContent = text;
    $("net-status").className = online ? "net" : "net off";
  }

  function villageChanged() {
    save("village", village.value);
    showList();
    if (navigator.onLine !== false) downloadList();
  }

  village.addEventListener("change", villageChanged);
  $("household-search").addEventListener("input", search);
  $("reload-list").addEventListener("click", downloadList);
  $("sync-now").addEventListener("click", sync);
  window.addEventListener("online", function () { showNetwork(); sync(); downloadList(); });
  window.addEventListener("offline", showNetwork);
  setInterval(sync, RETRY_MS);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(cfg.serviceWorker, { scope: cfg.scope }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () {
      offlineReady = true;
      document.documentElement.dataset.offlineReady = "1";
      showNetwork();
    }).catch(function () { /* no offline shell (e.g. plain http): the page still works online */ });
  }

  showNetwork();
  showList();
  showQueue();
  if (navigator.onLine !== false) downloadList().then(sync);
})();
