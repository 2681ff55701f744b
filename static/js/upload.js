// Upload progress for forms marked data-upload-progress. Without JavaScript the forms post
// as usual; with it, the file goes through XMLHttpRequest so the page can show how much
// was sent, and the server's answer (the next page, or the form with its errors) replaces
// the main content.
(function () {
  "use strict";

  function percent(event) {
    return event.lengthComputable ? Math.floor((event.loaded / event.total) * 100) : null;
  }

  function showPage(xhr) {
    var next = xhr.response;
    var main = next && next.querySelector("main");
    if (!main) {
      window.location.assign(xhr.responseURL || window.location.href);
      return;
    }
    document.querySelector("main").replaceWith(main);
    document.title = next.title;
    if (xhr.responseURL && xhr.responseURL !== window.location.href) {
      window.history.replaceState(null, "", xhr.responseURL);
    }
    main.focus();
    bind(main);
  }

  function send(form, event) {
    var box = form.querySelector(".upload-progress");
    var bar = box && box.querySelector("progress");
    var status = box && box.querySelector(".upload-status");
    if (!bar || !window.FormData) {
      return; // let the browser post the form
    }
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var announced = -25;
    box.hidden = false;
    if (button) {
      button.disabled = true;
    }
    var xhr = new XMLHttpRequest();
    xhr.open(form.method || "POST", form.action || window.location.href);
    xhr.responseType = "document";
    xhr.upload.addEventListener("progress", function (e) {
      var done = percent(e);
      if (done === null) {
        return;
      }
      bar.value = done;
      bar.textContent = done + "%";
      if (done - announced >= 25 || done === 100) {
        announced = done;
        status.textContent = done === 100 ? "Sent. Checking the file…" : done + "% sent";
      }
    });
    xhr.addEventListener("load", function () {
      showPage(xhr);
    });
    xhr.addEventListener("error", function () {
      status.textContent = "The upload failed. Check your connection and try again.";
      if (button) {
        button.disabled = false;
      }
    });
    xhr.send(new FormData(form));
  }

  function bind(root) {
    root.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        send(form, event);
      });
    });
  }

  bind(document);
})();
