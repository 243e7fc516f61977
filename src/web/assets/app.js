// 跨省通办专窗 — the only script: live checks, attachments, review and submission of the
// intake form, and the receipt's print button. Every check is asked of the server (the
// gateway's own checkers); no check digit is computed here.
"use strict";

(function () {
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    var form = document.getElementById("intake");
    if (form) intake(form);
  });

  // The total of attachments the gateway accepts (20 MiB), as in the server's limit.
  var MAX_ATTACHMENTS = 20 * 1024 * 1024;
  // How long typing pauses before a live check is asked (ms).
  var CHECK_DELAY = 250;
  // A check is asked while typing once the value has its full length.
  var FULL_LENGTH = { uscc: 18, mobile: 11, division: 6 };

  function csrf() {
    var m = document.querySelector('meta[name="csrf"]');
    return m ? m.content : "";
  }
  function setCsrf(token) {
    var m = document.querySelector('meta[name="csrf"]');
    if (m) m.content = token;
    document.querySelectorAll('input[name="csrf"]').forEach(function (i) { i.value = token; });
  }
  // An answer as {status, body}; a body that is not JSON becomes {detail: its text}.
  function answer(r) {
    return r.text().then(function (t) {
      var body;
      try { body = JSON.parse(t); } catch (e) { body = { detail: t }; }
      return { status: r.status, body: body || {} };
    });
  }
  // The session's CSRF token, when the page's went stale (the clerk signed in again in
  // another tab); false when there is no session.
  function renewCsrf() {
    return fetch("/clerk/api/session", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(answer)
      .then(function (res) {
        if (res.status !== 200 || !res.body.csrf) return false;
        setCsrf(res.body.csrf);
        return true;
      });
  }

  // The session ended: sign in again in a dialog on this page, so nothing typed is lost.
  // Resolves once signed in (with the new session's CSRF token in place).
  var pendingSignIn = null;
  function signInAgain() {
    if (pendingSignIn) return pendingSignIn;
    var dialog = document.getElementById("signin");
    var f = document.getElementById("signin-form");
    if (!dialog || !f) {
      window.location.href = "/clerk/login";
      return new Promise(function () {});
    }
    var err = document.getElementById("signin-error");
    var button = document.getElementById("signin-submit");
    pendingSignIn = new Promise(function (resolve) {
      err.hidden = true;
      f.elements.password.value = "";
      if (!dialog.open) dialog.showModal();
      (f.elements.username.value ? f.elements.password : f.elements.username).focus();
      dialog.oncancel = function () { pendingSignIn = null; };
      f.onsubmit = function (e) {
        e.preventDefault();
        button.disabled = true;
        fetch("/clerk/api/login", { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(answer)
          .then(function (t) {
            return fetch("/clerk/login", {
              method: "POST",
              credentials: "same-origin",
              headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
              body: new URLSearchParams({
                username: f.elements.username.value, password: f.elements.password.value, csrf: t.body.csrf || ""
              })
            });
          })
          .then(answer)
          .then(function (res) {
            button.disabled = false;
            if (res.status === 200 && res.body.csrf) {
              setCsrf(res.body.csrf);
              pendingSignIn = null;
              dialog.close();
              resolve();
              return;
            }
            err.textContent = res.body.detail || ("登录失败（" + res.status + "）");
            err.hidden = false;
            f.elements.password.value = "";
            f.elements.password.focus();
          })
          .catch(function (e) {
            button.disabled = false;
            err.textContent = "网络错误：" + e.message;
            err.hidden = false;
          });
      };
    });
    return pendingSignIn;
  }

  function intake(form) {
    var materials = [];
    var review = document.getElementById("review");
    var problemsBox = document.getElementById("problems");
    var residentType = form.dataset.resident;

    function currentKind() {
      var r = form.querySelector('input[name="sxbm"]:checked');
      return r ? r.dataset.kind : "food";
    }
    function visible(el) {
      var holder = el.closest("[data-kinds]");
      while (holder) {
        if (holder.dataset.kinds.split(" ").indexOf(currentKind()) < 0) return false;
        holder = holder.parentElement && holder.parentElement.closest("[data-kinds]");
      }
      return true;
    }
    function applyKind() {
      form.querySelectorAll("[data-kinds]").forEach(function (el) {
        el.hidden = el.dataset.kinds.split(" ").indexOf(currentKind()) < 0;
      });
    }
    form.querySelectorAll('input[name="sxbm"]').forEach(function (r) {
      r.addEventListener("change", function () {
        applyKind();
        if (r.dataset.entity) byName("jyz.ztlx").value = r.dataset.entity;
      });
    });
    applyKind();

    function fieldOf(el) { return el.closest(".field") || el.closest("[data-field]"); }
    function setState(el, ok, message) {
      var f = fieldOf(el);
      if (!f) return;
      f.classList.remove("ok", "bad");
      if (ok === true) f.classList.add("ok");
      if (ok === false) f.classList.add("bad");
      var msg = f.querySelector(".msg");
      if (msg) msg.textContent = message || "";
    }
    function byName(name) { return form.querySelector('[name="' + name + '"]'); }

    // --- live checks ---------------------------------------------------------------
    var timers = new WeakMap();
    var serial = new WeakMap();
    function check(input) {
      var field = input.dataset.check;
      var value = input.value.trim();
      if (!value) { setState(input, null, ""); return Promise.resolve(); }
      var params = new URLSearchParams({ field: field, value: value });
      if (field === "id") {
        var from = input.dataset.kindFrom ? byName(input.dataset.kindFrom) : null;
        params.set("kind", from ? from.value : residentType);
      }
      if (field === "division") params.set("scope", input.name === "mbqy" ? "target" : "premises");
      var n = (serial.get(input) || 0) + 1;
      serial.set(input, n);
      return fetch("/clerk/api/check?" + params, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (r.status === 401) {
            // Checked again once signed in; what was typed stays.
            signInAgain().then(function () { check(input); });
            return null;
          }
          return r.json();
        })
        .then(function (a) {
          if (!a || serial.get(input) !== n) return; // signing in, or a newer check is under way
          setState(input, a.ok, a.message);
          if (a.ok && field === "division") suggestTarget(input, a);
        })
        .catch(function (e) { setState(input, false, e.message); });
    }
    function suggestTarget(input, answer) {
      var mbqy = byName("mbqy"), spjg = byName("spjg");
      if (input.name === "jycs.xzqh" && (!mbqy.value || mbqy.dataset.auto === "1")) {
        mbqy.value = input.value.trim();
        mbqy.dataset.auto = "1";
        setState(mbqy, true, answer.name);
      }
      if ((input.name === "mbqy" || input.name === "jycs.xzqh") && answer.authority &&
          (!spjg.value || spjg.dataset.auto === "1")) {
        spjg.value = answer.authority;
        spjg.dataset.auto = "1";
        setState(spjg, true, "按目标区域建议，可修改");
      }
    }
    function fullLength(input) {
      var field = input.dataset.check;
      if (field === "id") {
        var from = input.dataset.kindFrom ? byName(input.dataset.kindFrom) : null;
        return (!from || from.value === residentType) ? 18 : 0;
      }
      return FULL_LENGTH[field] || 0;
    }
    form.querySelectorAll("[data-check]").forEach(function (input) {
      input.addEventListener("input", function () {
        if (input.name === "mbqy" || input.name === "spjg") input.dataset.auto = "";
        clearTimeout(timers.get(input));
        var len = fullLength(input);
        if (len && input.value.trim().length >= len) {
          timers.set(input, setTimeout(function () { check(input); }, CHECK_DELAY));
        } else {
          setState(input, null, "");
        }
      });
      input.addEventListener("blur", function () {
        clearTimeout(timers.get(input));
        check(input);
      });
    });
    form.querySelectorAll("[data-kind-from]").forEach(function (input) {
      byName(input.dataset.kindFrom).addEventListener("change", function () {
        if (input.value) check(input);
      });
    });
    byName("spjg").addEventListener("input", function () { byName("spjg").dataset.auto = ""; });

    // --- keyboard: Enter advances, as a scanner's Enter does --------------------------
    function focusables() {
      return Array.prototype.filter.call(
        form.querySelectorAll("input, select, textarea, button, .drop"),
        function (el) { return !el.disabled && el.type !== "hidden" && visible(el) && el.offsetParent !== null &&
          !(el.type === "radio" && !el.checked); });
    }
    form.addEventListener("keydown", function (e) {
      var t = e.target;
      if (e.key !== "Enter" || t.tagName === "TEXTAREA" || t.tagName === "BUTTON") return;
      e.preventDefault();
      if (t.dataset && t.dataset.check) { clearTimeout(timers.get(t)); check(t); }
      var list = focusables();
      var i = list.indexOf(t);
      if (i >= 0 && i + 1 < list.length) list[i + 1].focus();
    });

    document.getElementById("same-as-applicant").addEventListener("click", function () {
      byName("jyz.fddbr.xm").value = byName("sqr.xm").value;
      byName("jyz.fddbr.zjlx").value = byName("sqr.zjlx").value;
      var id = byName("jyz.fddbr.zjhm");
      id.value = byName("sqr.zjhm").value;
      check(id);
    });

    // --- attachments -----------------------------------------------------------------
    var drop = document.getElementById("drop");
    var fileInput = document.getElementById("files");
    var tbody = document.querySelector("#materials tbody");
    var codeOptions = document.getElementById("material-options").innerHTML;

    function base64(buffer) {
      var bytes = new Uint8Array(buffer), out = "", chunk = 0x8000;
      for (var i = 0; i < bytes.length; i += chunk) {
        out += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
      }
      return btoa(out);
    }
    function hex(buffer) {
      return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
    }
    function size(n) {
      return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : n >= 1024 ? Math.ceil(n / 1024) + " KB" : n + " B";
    }
    // The material code for a new file: the first unused material whose name (from the code
    // table) appears in the file name ("申请书.pdf" → 申请书), else the first unused one.
    function nextCode(fileName) {
      var used = materials.map(function (m) { return m.code; });
      var sel = document.createElement("select");
      sel.innerHTML = codeOptions;
      var all = Array.prototype.slice.call(sel.options);
      var unused = all.filter(function (o) { return used.indexOf(o.value) < 0; });
      var named = unused.filter(function (o) { return fileName.indexOf(o.text) >= 0; });
      var pick = named[0] || unused[0] || all[all.length - 1];
      return pick.value;
    }
    function render() {
      tbody.textContent = "";
      materials.forEach(function (m, i) {
        var tr = document.createElement("tr");
        var td1 = document.createElement("td");
        var sel = document.createElement("select");
        sel.innerHTML = codeOptions;
        sel.value = m.code;
        sel.setAttribute("aria-label", "材料类别");
        sel.name = "cl-code-" + i;
        sel.addEventListener("change", function () { m.code = sel.value; });
        td1.appendChild(sel);
        var td2 = document.createElement("td"); td2.textContent = m.name;
        var td3 = document.createElement("td"); td3.textContent = size(m.size);
        var td4 = document.createElement("td");
        var rm = document.createElement("button");
        rm.type = "button"; rm.textContent = "移除";
        rm.addEventListener("click", function () { materials.splice(i, 1); render(); });
        td4.appendChild(rm);
        tr.append(td1, td2, td3, td4);
        tbody.appendChild(tr);
      });
      clearServerError(drop);
      var total = materials.reduce(function (s, m) { return s + m.size; }, 0);
      var msg = drop.querySelector(".msg");
      drop.classList.toggle("bad", total > MAX_ATTACHMENTS);
      msg.textContent = total > MAX_ATTACHMENTS ? "材料合计超过 20 MB，请压缩扫描件" :
        materials.length ? "已添加 " + materials.length + " 份材料，共 " + size(total) : "";
    }
    function add(files) {
      return Promise.all(Array.prototype.map.call(files, function (file) {
        return file.arrayBuffer().then(function (buf) {
          return crypto.subtle.digest("SHA-256", buf).then(function (digest) {
            materials.push({
              code: nextCode(file.name), name: file.name, type: file.type || "application/octet-stream",
              size: file.size, sha256: hex(digest), content: base64(buf)
            });
            render();
          });
        });
      }));
    }
    fileInput.addEventListener("change", function () { add(fileInput.files).then(function () { fileInput.value = ""; }); });
    ["dragenter", "dragover"].forEach(function (ev) {
      drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      drop.addEventListener(ev, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) add(e.dataTransfer.files);
    });
    drop.addEventListener("keydown", function (e) {
      if (e.key === " ") { e.preventDefault(); fileInput.click(); }
    });

    // --- the document ------------------------------------------------------------------
    function setPath(obj, path, value) {
      var keys = path.split("."), o = obj;
      for (var i = 0; i < keys.length - 1; i++) o = o[keys[i]] = o[keys[i]] || {};
      o[keys[keys.length - 1]] = value;
    }
    function optionText(sel, value) {
      for (var i = 0; i < sel.options.length; i++) if (sel.options[i].value === value) return sel.options[i].text;
      return value;
    }
    function collect() {
      var doc = {};
      doc.sxbm = form.querySelector('input[name="sxbm"]:checked').value;
      form.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (el) {
        if (!visible(el) || el.name === "sxbm" || el.name === "spjy.jyxm" || el.type === "file" ||
            el.name.indexOf("cl-code-") === 0) return;
        var v = el.value.trim();
        if (v) setPath(doc, el.name, v);
      });
      if (currentKind() === "food") {
        var items = Array.prototype.filter.call(form.querySelectorAll('input[name="spjy.jyxm"]'),
          function (c) { return c.checked; }).map(function (c) { return c.value; });
        setPath(doc, "spjy.jyxm", items);
      }
      var sel = document.createElement("select");
      sel.innerHTML = codeOptions;
      doc.cl = materials.map(function (m) {
        return { clbm: m.code, clmc: optionText(sel, m.code), wjm: m.name, wjlx: m.type, sha256: m.sha256, nr: m.content };
      });
      return doc;
    }
    function localProblems() {
      var list = [];
      form.querySelectorAll("[required]").forEach(function (el) {
        if (visible(el) && !el.value.trim()) {
          setState(el, false, "必填");
          fieldOf(el).dataset.server = "1"; // cleared as soon as something is typed
          list.push(el);
        }
      });
      form.querySelectorAll(".field.bad").forEach(function (f) {
        var el = f.querySelector("input, select, textarea");
        if (el && visible(el) && list.indexOf(el) < 0) list.push(el);
      });
      if (currentKind() === "food" && !form.querySelector('input[name="spjy.jyxm"]:checked')) {
        var jyxm = form.querySelector('[data-field="spjy.jyxm"]');
        jyxm.classList.add("bad");
        jyxm.querySelector(".msg").textContent = "至少选择一项经营项目";
        list.push(jyxm.querySelector("input"));
      }
      if (!materials.length) {
        drop.classList.add("bad");
        drop.querySelector(".msg").textContent = "至少添加一份申请材料";
        list.push(drop);
      }
      return list;
    }
    function labelOf(el) {
      var f = fieldOf(el);
      var l = f && f.querySelector("label");
      return l ? l.textContent.trim() : el.name;
    }
    function showReview() {
      var body = document.getElementById("review-body");
      body.textContent = "";
      form.querySelectorAll("section").forEach(function (section) {
        if (section.hidden) return;
        var rows = [];
        if (section.querySelector('input[name="sxbm"]')) {
          var r = section.querySelector('input[name="sxbm"]:checked');
          rows.push(["事项", r.parentElement.querySelector("b").textContent]);
        }
        section.querySelectorAll(".field").forEach(function (f) {
          if (!visible(f)) return;
          var el = f.querySelector("input, select, textarea");
          if (!el || !el.name) return;
          var v;
          if (el.name === "spjy.jyxm") {
            v = Array.prototype.filter.call(f.querySelectorAll("input"), function (c) { return c.checked; })
              .map(function (c) { return c.parentElement.textContent.trim(); }).join("、");
          } else if (el.tagName === "SELECT") {
            v = el.options[el.selectedIndex].text;
          } else {
            v = el.value.trim();
            if (v && el.dataset.check === "division" && f.classList.contains("ok")) {
              v += "（" + f.querySelector(".msg").textContent + "）";
            }
          }
          if (v) rows.push([labelOf(el), v]);
        });
        if (section.querySelector("#drop")) {
          var sel = document.createElement("select");
          sel.innerHTML = codeOptions;
          materials.forEach(function (m) { rows.push([optionText(sel, m.code), m.name + "（" + size(m.size) + "）"]); });
        }
        if (!rows.length) return;
        var h = document.createElement("h3");
        h.textContent = section.querySelector("h2").textContent;
        var table = document.createElement("table");
        rows.forEach(function (row) {
          var tr = document.createElement("tr");
          var th = document.createElement("th"); th.textContent = row[0];
          var td = document.createElement("td"); td.textContent = row[1];
          tr.append(th, td);
          table.appendChild(tr);
        });
        var block = document.createElement("div");
        block.className = "review-section";
        block.append(h, table);
        body.appendChild(block);
      });
      form.hidden = true;
      review.hidden = false;
      problemsBox.hidden = true;
      window.scrollTo(0, 0);
      document.getElementById("submit").focus();
    }
    function showForm() {
      review.hidden = true;
      form.hidden = false;
    }
    // The server's refusal of a field stays under it until the field changes.
    var serverItems = new Map();
    function clearServerError(target) {
      if (!target || !target.dataset.server) return;
      delete target.dataset.server;
      target.classList.remove("bad");
      var msg = target.querySelector(".msg");
      if (msg) msg.textContent = "";
      (serverItems.get(target) || []).forEach(function (li) { li.remove(); });
      serverItems.delete(target);
      if (problemsBox.dataset.server && !problemsBox.querySelector("li")) problemsBox.hidden = true;
    }
    ["input", "change"].forEach(function (ev) {
      form.addEventListener(ev, function (e) {
        if (e.target.closest) clearServerError(e.target.closest("[data-field]"));
      });
    });
    function showProblems(problems) {
      showForm();
      // The previous refusal gives way to this one.
      Array.from(serverItems.keys()).forEach(clearServerError);
      var ul = document.createElement("ul");
      var first = null;
      problems.forEach(function (p) {
        // The server names the form's field (`field`, also for a Shanghai path) and its
        // label; the path as the platform spells it is the fallback.
        var path = (p.field || p.path || "").replace(/\[\d+\]$/, "");
        var target = path ? form.querySelector('[data-field="' + CSS.escape(path) + '"]') ||
          (path.indexOf("cl") === 0 ? drop : null) : null;
        var label = path ? (p.label || p.path) : "";
        var li = document.createElement("li");
        if (target) {
          target.classList.add("bad");
          target.dataset.server = "1";
          var msg = target.querySelector(".msg");
          if (msg) msg.textContent = p.message;
          var el = target.querySelector("input, select, textarea") || target;
          label = target === drop ? "申请材料" : labelOf(el);
          if (!first) first = el;
          serverItems.set(target, (serverItems.get(target) || []).concat([li]));
        }
        // No label, no colon: a problem of the whole application is its message alone.
        li.textContent = label ? label + "：" + p.message : p.message;
        ul.appendChild(li);
      });
      problemsBox.textContent = "申请未提交，请修改以下问题：";
      problemsBox.dataset.server = "1";
      problemsBox.appendChild(ul);
      problemsBox.hidden = false;
      window.scrollTo(0, 0);
      if (first) first.focus();
    }

    document.getElementById("to-review").addEventListener("click", function () {
      var blur = document.activeElement;
      var pending = [];
      form.querySelectorAll("[data-check]").forEach(function (el) {
        if (visible(el) && el.value.trim()) pending.push(check(el));
      });
      Promise.all(pending).then(function () {
        var list = localProblems();
        if (list.length) {
          problemsBox.textContent = "还有 " + list.length + " 处需要填写或修改（已用红色标出）。";
          delete problemsBox.dataset.server;
          problemsBox.hidden = false;
          list[0].focus();
          return;
        }
        if (blur) blur.blur();
        showReview();
      });
    });
    document.getElementById("back").addEventListener("click", showForm);
    var submit = document.getElementById("submit");
    var reviewNote = document.getElementById("review-note");
    function note(text) {
      reviewNote.textContent = text;
      reviewNote.hidden = !text;
    }
    function idle() {
      submit.disabled = false;
      submit.textContent = "确认提交";
    }
    // The session ended: sign in on this page, then the clerk submits again, nothing retyped.
    function needSignIn() {
      idle();
      note("登录已过期。请在弹出的窗口中重新登录；填写的内容都保留在本页。");
      return signInAgain().then(function () {
        note("已重新登录，填写的内容都还在。请再次点击「确认提交」。");
        submit.focus();
      });
    }
    function send(retried) {
      return fetch("/clerk/api/applications", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), Accept: "application/json" },
        body: JSON.stringify(collect())
      }).then(answer).then(function (res) {
        if (res.status === 201) {
          window.location.href = res.body.receipt_url;
          return;
        }
        // A stale token (signed in again in another tab): take the session's and send once more.
        if (res.status === 403 && !retried) {
          return renewCsrf().then(function (ok) { return ok ? send(true) : needSignIn(); });
        }
        if (res.status === 401 || res.status === 403) return needSignIn();
        idle();
        note("");
        if (res.body.problems) showProblems(res.body.problems);
        else showProblems([{ path: "", message: res.body.detail || ("提交失败（" + res.status + "）") }]);
      });
    }
    submit.addEventListener("click", function () {
      submit.disabled = true;
      submit.textContent = "正在提交…";
      note("");
      send(false).catch(function (e) {
        idle();
        showProblems([{ path: "", message: "网络错误，申请未提交：" + e.message }]);
      });
    });
  }
})();
