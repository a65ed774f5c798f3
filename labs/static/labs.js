// Every page's script (labs.css does the rest). On a narrow screen the header's menu folds behind its
// button. Every table cell carries its column's heading as data-label, so that a table can be laid
// out as stacked cards there, each value named; rows a page's own script adds later get theirs too.
// Without this script the menu stays unfolded and a table scrolls within itself.
(function () {
  "use strict";
  var header = document.getElementById("top");
  var button = document.getElementById("menu-toggle");
  header.classList.add("folding");
  button.addEventListener("click", function () {
    button.setAttribute("aria-expanded", String(header.classList.toggle("open")));
  });

  // A heading's words: its lines (a weekday<br>its date) joined with a space, without the text of
  // a button or form it holds.
  function words(node) {
    return Array.prototype.map.call(node.childNodes, function (child) {
      if (child.nodeType === Node.TEXT_NODE) { return child.nodeValue; }
      if (child.nodeType !== Node.ELEMENT_NODE || child.matches("form, button, input, select, textarea")) { return " "; }
      return " " + words(child) + " ";
    }).join("");
  }

  function headings(table) {
    var names = [];
    if (table.tHead && table.tHead.rows.length) {
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
        var name = words(th).replace(/\s+/g, " ").trim();
        for (var i = 0; i < th.colSpan; i++) { names.push(name); }
      });
    }
    return names;
  }

  function labelRow(row, names) {
    var column = 0;
    Array.prototype.forEach.call(row.cells, function (cell) {
      if (names[column] && cell.colSpan === 1) { cell.setAttribute("data-label", names[column]); }
      column += cell.colSpan;
    });
  }

  function labelTable(table) {
    var names = headings(table);
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) { labelRow(row, names); });
    });
    table.classList.add("cards");
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("main table"), labelTable);
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        Array.prototype.forEach.call(change.addedNodes, function (node) {
          var table = node.nodeName === "TR" && node.closest("table.cards");
          if (table) { labelRow(node, headings(table)); }
        });
      });
    }).observe(document.querySelector("main"), {childList: true, subtree: true});
  });
}());
