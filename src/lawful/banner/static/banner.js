/* lawful reference consent banner: no dependencies, no build step.
 *
 * Renders the purposes of `lawful banner POLICY` (JSON) into an element with the
 * attribute data-lawful-banner, and posts the person's choices to the integration's
 * consent endpoint ({"choices": {"<purpose>": "accept" | "reject"}}). Attributes of
 * that element:
 *   data-config           id of a <script type="application/json"> holding the JSON
 *                         (default: lawful-banner-data), or
 *   data-config-url       a URL to fetch it from;
 *   data-endpoint         the consent endpoint (default: /lawful/consent);
 *   data-decisions        the decisions endpoint (default: /lawful/decisions);
 *   data-subject-cookie   the cookie naming the visitor (default: lawful_subject), set
 *                         to a random UUID when missing; "" to leave it to the server;
 *   data-csrf-cookie      a cookie whose value is sent as X-CSRFToken (Django's
 *                         csrftoken, the default), when present.
 * Policy text is inserted with textContent only, never as HTML.
 */
(function () {
  "use strict";

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return null;
  }

  function ensureSubject(name) {
    if (!name || readCookie(name)) return;
    // A random id that only records the choice itself (strictly necessary to honour it).
    var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : String(Date.now()) + "-" + String(Math.random()).slice(2);
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = name + "=" + encodeURIComponent(id) +
      "; Path=/; Max-Age=" + String(60 * 60 * 24 * 365) + "; SameSite=Lax" + secure;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function button(label, action, purpose) {
    var b = el("button", "lawful-button lawful-" + action, label);
    b.type = "button";
    b.setAttribute("data-action", action);
    if (purpose) b.setAttribute("data-purpose", purpose);
    return b;
  }

  function fact(list, label, value) {
    if (value === null || value === undefined || value === "") return;
    list.appendChild(el("dt", null, label));
    list.appendChild(el("dd", null, value));
  }

  function render(root, data) {
    root.textContent = "";
    root.classList.add("lawful-banner");
    root.setAttribute("role", "region");
    root.setAttribute("aria-label", "Privacy choices");
    var head = el("div", "lawful-head");
    head.appendChild(el("h2", null, "Your privacy choices"));
    var intro = el("p", null,
      "We ask your consent for the purposes below. Nothing is switched on until you " +
      "accept it, and you can change your mind at any time here; withdrawing does not " +
      "affect processing before it.");
    head.appendChild(intro);
    if (data.notice && data.notice.url) {
      var link = el("a", "lawful-notice", "Read the full privacy notice");
      link.href = data.notice.url;
      head.appendChild(link);
    }
    root.appendChild(head);

    var all = el("div", "lawful-all");
    all.appendChild(button("Reject all", "reject-all"));
    all.appendChild(button("Accept all", "accept-all"));
    root.appendChild(all);

    var list = el("ul", "lawful-purposes");
    data.purposes.forEach(function (p) {
      var item = el("li", "lawful-purpose");
      item.setAttribute("data-purpose", p.id);
      var top = el("div", "lawful-purpose-head");
      top.appendChild(el("h3", null, p.title));
      var status = el("span", "lawful-status", "Not decided");
      status.setAttribute("data-purpose", p.id);
      top.appendChild(status);
      item.appendChild(top);
      item.appendChild(el("p", "lawful-statement", p.statement));
      var details = el("details");
      details.appendChild(el("summary", null, "Details"));
      var facts = el("dl");
      fact(facts, "Third parties", p.vendors.map(function (v) { return v.where; }).join("; ") || "none");
      fact(facts, "Data", p.data.map(function (d) { return d.title; }).join(", "));
      fact(facts, "Your device", p.device_access ? "read or written, only with your consent" : "not accessed");
      fact(facts, "Kept", p.retention);
      fact(facts, "Consent lasts", p.consent_lifetime);
      fact(facts, "Withdraw", p.withdrawal);
      details.appendChild(facts);
      if (p.notice_url) {
        var more = el("a", null, "In the privacy notice");
        more.href = p.notice_url;
        details.appendChild(more);
      }
      item.appendChild(details);
      var actions = el("div", "lawful-actions");
      var reject = button("Reject", "reject", p.id);
      reject.setAttribute("aria-label", "Reject " + p.title);
      var accept = button("Accept", "accept", p.id);
      accept.setAttribute("aria-label", "Accept " + p.title);
      actions.appendChild(reject);
      actions.appendChild(accept);
      item.appendChild(actions);
      list.appendChild(item);
    });
    root.appendChild(list);
    root.appendChild(el("p", "lawful-message"));
  }

  function show(root, answer) {
    var decisions = (answer && answer.decisions) || {};
    var statuses = root.querySelectorAll(".lawful-status");
    for (var i = 0; i < statuses.length; i++) {
      var d = decisions[statuses[i].getAttribute("data-purpose")];
      if (!d) continue;
      var code = d.reasons && d.reasons.length ? d.reasons[0].code : "";
      statuses[i].textContent = d.allowed ? "Allowed" : "Not allowed";
      statuses[i].setAttribute("data-allowed", d.allowed ? "true" : "false");
      statuses[i].setAttribute("data-code", code);
    }
  }

  function boot(root) {
    var endpoint = root.getAttribute("data-endpoint") || "/lawful/consent";
    var decisionsUrl = root.getAttribute("data-decisions") || "/lawful/decisions";
    var subjectCookie = root.hasAttribute("data-subject-cookie")
      ? root.getAttribute("data-subject-cookie") : "lawful_subject";
    var csrfCookie = root.getAttribute("data-csrf-cookie") || "csrftoken";
    var message;

    function post(choices) {
      ensureSubject(subjectCookie);
      var headers = { "Content-Type": "application/json" };
      var token = readCookie(csrfCookie);
      if (token) headers["X-CSRFToken"] = token;
      root.setAttribute("data-busy", "true");
      return fetch(endpoint, {
        method: "POST", credentials: "same-origin", headers: headers,
        body: JSON.stringify({ choices: choices })
      }).then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error((body.detail && body.detail.reason) || response.statusText);
          show(root, body);
          message.textContent = "Saved.";
        });
      }).catch(function (error) {
        message.textContent = "Not saved: " + error.message;
      }).then(function () { root.setAttribute("data-busy", "false"); });
    }

    function start(data) {
      render(root, data);
      message = root.querySelector(".lawful-message");
      root.addEventListener("click", function (event) {
        var target = event.target.closest ? event.target.closest("button[data-action]") : null;
        if (!target) return;
        var action = target.getAttribute("data-action");
        var choices = {};
        if (action === "accept-all" || action === "reject-all") {
          data.purposes.forEach(function (p) {
            choices[p.id] = action === "accept-all" ? "accept" : "reject";
          });
        } else {
          choices[target.getAttribute("data-purpose")] = action;
        }
        post(choices);
      });
      return fetch(decisionsUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (answer) { show(root, answer); })
        .catch(function () { /* the banner works without the current state */ })
        .then(function () { root.setAttribute("data-ready", "true"); });
    }

    var url = root.getAttribute("data-config-url");
    if (url) {
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(start);
    } else {
      var holder = document.getElementById(root.getAttribute("data-config") || "lawful-banner-data");
      start(JSON.parse(holder.textContent));
    }
  }

  function init() {
    var roots = document.querySelectorAll("[data-lawful-banner]");
    for (var i = 0; i < roots.length; i++) boot(roots[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
