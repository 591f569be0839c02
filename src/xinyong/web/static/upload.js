// Upload with visible progress: bytes sent, then rows validated and stored as the server
// streams them (JSON lines). Without JavaScript the form posts normally and shows the receipt.
(function () {
  const form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest) return;
  const box = document.getElementById("progress"), bar = document.getElementById("bar"),
        status = document.getElementById("status"), button = document.getElementById("submit");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const xhr = new XMLHttpRequest();
    let seen = 0;
    box.hidden = false; button.disabled = true;
    status.textContent = "正在上传…";
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { bar.value = e.loaded / e.total; status.textContent = "正在上传… " + Math.round(100 * e.loaded / e.total) + "%"; }
    };
    xhr.upload.onload = function () { bar.removeAttribute("value"); status.textContent = "上传完成，正在校验入库…"; };
    function handle(line) {
      if (!line.trim()) return;
      const event = JSON.parse(line);
      if (event.error) { status.textContent = "未能归集：" + event.error.message; button.disabled = false; bar.value = 0; }
      else if (event.done) { status.textContent = "归集完成，正在打开回执…"; window.location = event.receipt + "?new=1"; }
      else { bar.value = event.share; status.textContent = "正在校验入库… 已处理 " + event.rows + " 行"; }
    }
    xhr.onprogress = function () {
      const text = xhr.responseText, end = text.lastIndexOf("\n");
      if (end < seen) return;
      text.slice(seen, end).split("\n").forEach(handle);
      seen = end + 1;
    };
    xhr.onload = function () {
      if (xhr.status >= 400) {
        let message = "HTTP " + xhr.status;
        try { message = JSON.parse(xhr.responseText).message || message; } catch (e) { /* page */ }
        status.textContent = "未能归集：" + message; button.disabled = false; return;
      }
      xhr.onprogress();
      handle(xhr.responseText.slice(seen));
    };
    xhr.onerror = function () { status.textContent = "网络错误，请重试"; button.disabled = false; };
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/x-ndjson");
    xhr.send(new FormData(form));
  });
})();
