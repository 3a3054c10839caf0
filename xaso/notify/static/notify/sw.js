// XãSố service worker (served at /sw.js, scope "/"): shows pushed notifications with their
// action buttons; a click opens the message's page, an action button opens its link, or POSTs
// to it when the action's method is POST (e.g. "Xác nhận" on an incident).
"use strict";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { data = { title: event.data.text() }; }
  var actions = (data.actions || []).map(function (action) {
    return { action: action.action, title: action.title };
  });
  event.waitUntil(self.registration.showNotification(data.title || "XãSố", {
    body: data.body || "",
    tag: data.tag,
    lang: "vi",
    requireInteraction: data.severity === "urgent",
    actions: actions,
    data: { url: data.url || "/", actions: data.actions || [] }
  }));
});

self.addEventListener("notificationclick", function (event) {
  var data = event.notification.data || {};
  var chosen = (data.actions || []).filter(function (action) { return action.action === event.action; })[0];
  event.notification.close();
  if (chosen && chosen.method === "POST") {
    event.waitUntil(fetch(chosen.url, { method: "POST", credentials: "include" }).then(function (response) {
      return self.registration.showNotification(response.ok ? "Đã xác nhận" : "Chưa xác nhận được", {
        body: response.ok ? "" : "Mở XãSố để xác nhận.", tag: "ack-" + event.notification.tag, lang: "vi"
      });
    }));
    return;
  }
  event.waitUntil(self.clients.openWindow(chosen ? chosen.url : data.url));
});
