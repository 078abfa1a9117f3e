// salesbot console: the few behaviours a server-rendered page cannot do alone. No framework, no build step.
(function () {
  "use strict";
  function csrf() { var m = document.querySelector("input[name=_csrf]"); return m ? m.value : ""; }

  // The login page submits its one-time token at once (link previews that run no script cannot use it up).
  var login = document.querySelector("form[data-autosubmit]");
  if (login) { login.submit(); }
  var go = document.querySelector("a[data-autogo]");
  if (go) { window.location.assign(go.getAttribute("href")); }

  // Inside DingTalk: ask the JSAPI for a 免登 authCode and sign in with it; say what to do when it cannot.
  var dingtalk = document.getElementById("dingtalk-sign-in");
  if (dingtalk) {
    var failed = function () { document.getElementById("dingtalk-failed").hidden = false; };
    var dd = window.dd;
    if (!dd || !dd.runtime) { failed(); } else {
      dd.ready(function () {
        dd.runtime.permission.requestAuthCode({
          corpId: dingtalk.getAttribute("data-corp"),
          onSuccess: function (r) {
            window.location.replace(dingtalk.getAttribute("data-next") + "?code=" + encodeURIComponent(r.code));
          },
          onFail: failed
        });
      });
    }
  }

  // Buttons that change something important ask first.
  document.addEventListener("submit", function (e) {
    var btn = e.submitter, text = btn && btn.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { e.preventDefault(); }
  });

  // Card editor: the chat card preview follows the form (debounced), rendered by the server.
  var editor = document.querySelector("form[data-preview]");
  if (editor) {
    var target = document.getElementById("preview"), timer = null;
    var refresh = function () {
      var body = new URLSearchParams(new FormData(editor));
      fetch(editor.getAttribute("data-preview"), {method: "POST", body: body,
            headers: {"X-CSRF-Token": csrf()}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { target.innerHTML = html; } });
    };
    editor.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 300); });
  }

  // Upload with a progress bar; the server answers with the whole preview page.
  var upload = document.querySelector("form[data-upload]");
  if (upload) {
    upload.addEventListener("submit", function (e) {
      if (!window.XMLHttpRequest || !window.FormData) { return; }
      e.preventDefault();
      var bar = document.getElementById("upload-progress"), xhr = new XMLHttpRequest();
      bar.hidden = false;
      xhr.upload.addEventListener("progress", function (ev) { if (ev.lengthComputable) { bar.value = ev.loaded / ev.total; } });
      xhr.addEventListener("load", function () { document.open(); document.write(xhr.responseText); document.close(); });
      xhr.open("POST", upload.action);
      xhr.send(new FormData(upload));
    });
  }
})();
