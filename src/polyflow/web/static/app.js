// Polyflow pages work without this file; it only adds conveniences (the CSP allows scripts from this site only).
(function () {
  "use strict";
  var lang = document.documentElement.lang === "en" ? "en" : "id";
  var group = lang === "id" ? "." : ",", point = lang === "id" ? "," : ".";
  var readAs = lang === "id" ? "dibaca: " : "read as ";

  // The same rules as polyflow/web/numbers.py: show what a typed number will be read as.
  function parse(text) {
    var s = (text || "").replace(/\u00a0/g, " ").trim().replace(/^rp\.?/i, "").replace(/ /g, "");
    var neg = s.charAt(0) === "-";
    s = s.replace(/^[+-]/, "");
    if (!s || !/^[0-9.,]+$/.test(s) || !/\d/.test(s)) return null;
    var grouped = function (t) { return new RegExp("^\\d{1,3}(\\" + group + "\\d{3})+$").test(t); };
    var digits;
    if (s.indexOf(group) >= 0 && s.indexOf(point) >= 0) {
      var at = s.lastIndexOf(point);
      var whole = s.slice(0, at), frac = s.slice(at + 1);
      if (s.lastIndexOf(group) > at || !grouped(whole) || !/^\d+$/.test(frac)) return null;
      digits = whole.split(group).join("") + "." + frac;
    } else if (s.indexOf(group) >= 0) {
      if (grouped(s)) digits = s.split(group).join("");
      else if (s.split(group).length === 2 && s.charAt(0) !== group && s.slice(-1) !== group) digits = s.replace(group, ".");
      else return null;
    } else if (s.indexOf(point) >= 0) {
      if (s.split(point).length !== 2 || s.slice(-1) === point) return null;
      digits = s.replace(point, ".");
    } else digits = s;
    return (neg ? "-" : "") + digits;
  }

  function show(digits) {
    var neg = digits.charAt(0) === "-";
    if (neg) digits = digits.slice(1);
    var parts = digits.split(".");
    var whole = parts[0].replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, group);
    var frac = parts[1] ? parts[1].replace(/0+$/, "") : "";
    return (neg ? "-" : "") + whole + (frac ? point + frac : "");
  }

  function hint(input) {
    var note = document.querySelector('.understood[data-for="' + input.id + '"]');
    if (!note) return;
    var value = input.value.trim();
    if (!value) { note.textContent = ""; return; }
    var digits = parse(value);
    note.textContent = digits === null ? (lang === "id" ? "bukan angka" : "not a number") : readAs + show(digits);
  }

  document.addEventListener("input", function (e) {
    if (e.target.classList && e.target.classList.contains("number")) hint(e.target);
  });

  // Only one menu group open at a time; a click elsewhere closes it.
  document.addEventListener("click", function (e) {
    var groups = document.querySelectorAll("nav.menu details[open]");
    for (var i = 0; i < groups.length; i++) {
      if (!groups[i].contains(e.target)) groups[i].removeAttribute("open");
    }
  });

  // A difference shown live (the floor's net = bruto - bobin): <p data-net="id-of-a id-of-b" data-label="Net">.
  document.addEventListener("input", function (e) {
    var nets = document.querySelectorAll("[data-net]");
    for (var i = 0; i < nets.length; i++) {
      var ids = nets[i].getAttribute("data-net").split(" ");
      if (ids.indexOf(e.target.id) < 0) continue;
      var a = document.getElementById(ids[0]), b = document.getElementById(ids[1]);
      var x = a && parse(a.value), y = b && b.value.trim() ? parse(b.value) : "0";
      if (!x || y === null) { nets[i].textContent = ""; continue; }
      var net = Math.round((Number(x) - Number(y)) * 1000) / 1000;
      nets[i].textContent = nets[i].getAttribute("data-label") + ": " + show(String(net)) + " kg";
    }
  });

  // Forms asking "are you sure?" carry data-confirm (text shown by the browser's own dialog).
  document.addEventListener("submit", function (e) {
    var message = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) e.preventDefault();
  });
})();
