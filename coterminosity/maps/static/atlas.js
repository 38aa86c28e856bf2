// Atlas index: filter rows by text, sort by a column (numbers as numbers). No inline handlers.
(function () {
  var table = document.querySelector('table.sortable');
  if (!table) return;
  var body = table.tBodies[0];
  var filter = document.querySelector('.filter');
  function value(row, i) {
    var text = row.cells[i].textContent.trim();
    var number = parseFloat(text.replace(/[,%\s]/g, ''));
    return isNaN(number) || !/^[-\d.,%\s]+$/.test(text) ? text.toLowerCase() : number;
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
    th.setAttribute('tabindex', '0');
    function sort() {
      var down = th.getAttribute('aria-sort') === 'ascending';
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (o) { o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', down ? 'descending' : 'ascending');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = value(a, i), y = value(b, i);
        var c = (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === 'number' ? -1 : 1);
        return down ? -c : c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    }
    th.addEventListener('click', sort);
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter') sort(); });
  });
  if (filter) filter.addEventListener('input', function () {
    var q = filter.value.trim().toLowerCase();
    Array.prototype.forEach.call(body.rows, function (r) {
      r.hidden = q !== '' && r.textContent.toLowerCase().indexOf(q) < 0;
    });
  });
})();
