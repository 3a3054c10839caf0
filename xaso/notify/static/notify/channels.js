// The "Kênh nhận thông báo" page: show the fields of the chosen kind; subscribe this browser
// to web push with the server's VAPID key and register the subscription as a channel.
(function () {
  "use strict";
  var form = document.getElementById("channel-form");
  if (form) {
    var kind = form.querySelector("[name=kind]");
    var show = function () {
      form.querySelectorAll("[data-kinds]").forEach(function (box) {
        box.hidden = box.dataset.kinds.split(" ").indexOf(kind.value) < 0;
      });
    };
    kind.addEventListener("change", show);
    show();
  }

  var box = document.getElementById("push-box");
  var button = document.getElementById("push-subscribe");
  var status = document.getElementById("push-status");
  if (!box || !("serviceWorker" in navigator) || !("PushManager" in window)) return;

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(padded), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  status.textContent = "";
  button.hidden = false;
  button.addEventListener("click", function () {
    button.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") throw new Error("Bạn chưa cho phép hiển thị thông báo.");
      return navigator.serviceWorker.register(box.dataset.sw, { scope: "/" });
    }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      return registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: keyBytes(box.dataset.vapidKey)
      });
    }).then(function (subscription) {
      return fetch(box.dataset.api, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({
          kind: "webpush",
          label: "Trình duyệt · " + (navigator.platform || "thiết bị này"),
          subscription: subscription.toJSON()
        })
      });
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.detail || "Không đăng ký được.");
        window.location.reload();
      });
    }).catch(function (error) {
      status.textContent = error.message;
      button.disabled = false;
    });
  });
})();
