// Progressive enhancement only: the form works the same without this file.
(function () {
  "use strict";
  var form = document.getElementById("claim-form");
  if (!form) return;
  var W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], C = "10X98765432";
  var zh = document.documentElement.lang !== "en";
  function norm(v) {
    return v.replace(/[\uff01-\uff5e]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xfee0); })
      .replace(/[\s\u3000-]/g, "").toUpperCase();
  }
  var id = document.getElementById("f-id_number"), msg = document.getElementById("e-id_number");
  if (id && msg) {
    id.addEventListener("change", function () {
      var v = norm(id.value), text = "";
      if (v && !/^\d{17}[\dX]$/.test(v)) {
        text = zh ? "身份证号应为 18 位（最后一位可能是 X），请对照身份证填写。" : "An ID number has 18 characters (the last may be X).";
      } else if (v) {
        var s = 0;
        for (var i = 0; i < 17; i++) s += +v[i] * W[i];
        if (C[s % 11] !== v[17]) {
          text = zh ? "身份证号最后一位（校验码）对不上，请对照身份证再核对一遍。" : "The last digit (check digit) of the ID number does not match; compare it with the card.";
        }
      }
      msg.textContent = text;
      id.setAttribute("aria-invalid", text ? "true" : "false");
    });
  }
  form.addEventListener("submit", function () {
    var send = document.getElementById("send");
    if (send) { send.disabled = true; send.textContent = zh ? "正在提交…" : "Sending…"; }
  });
})();
