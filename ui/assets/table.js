// PagedTable renders a list of any length as pages of at most PAGE_SIZE rows, with a filter
// box and a pager, so that a view of 100,000 tasks builds no more rows than one of 100.

export const PAGE_SIZE = 100;

const ESCAPES = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};

// esc makes text safe inside HTML, in content and in quoted attributes.
export function esc(s) {
  return String(s === undefined || s === null ? '' : s).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export class PagedTable {
  // id names the table's elements (id, id-filter, id-count, id-page); columns are
  // {title, html(row), sort(row)}, where sort, when present, gives the value a click on the
  // column's heading orders by (again: the other way); rows() returns the rows; search(row)
  // is the text the filter matches; key(row) identifies a row (data-key); noun names the rows
  // in the count.
  constructor({id, columns, rows, search, key, noun}) {
    Object.assign(this, {id, columns, rows, search, key, noun});
    this.filter = '';
    this.page = 0;
    this.sortBy = -1; // the column ordered by; -1: the rows' own order
    this.descending = false;
  }

  mount(el) {
    const box = document.createElement('div');
    box.className = 'paged-table';
    box.innerHTML = `
      <div class="table-tools">
        <input type="search" id="${this.id}-filter" placeholder="Filter" autocomplete="off">
        <span class="count" id="${this.id}-count"></span>
        <span class="pager">
          <button type="button" id="${this.id}-prev" aria-label="previous page">‹</button>
          <span id="${this.id}-page"></span>
          <button type="button" id="${this.id}-next" aria-label="next page">›</button>
        </span>
      </div>
      <table id="${this.id}">
        <thead><tr>${this.columns.map((c, i) => `<th${c.sort ? ` class="sortable" data-col="${i}"` : ''}>${esc(c.title)}</th>`).join('')}</tr></thead>
        <tbody></tbody>
      </table>`;
    el.appendChild(box);
    this.tbody = box.querySelector('tbody');
    this.countEl = box.querySelector(`#${this.id}-count`);
    this.pageEl = box.querySelector(`#${this.id}-page`);
    const filterEl = box.querySelector(`#${this.id}-filter`);
    filterEl.value = this.filter;
    filterEl.addEventListener('input', () => {
      this.filter = filterEl.value.trim().toLowerCase();
      this.page = 0;
      this.update();
    });
    for (const th of box.querySelectorAll('th.sortable')) {
      th.addEventListener('click', () => {
        const col = Number(th.dataset.col);
        this.descending = this.sortBy === col ? !this.descending : false;
        this.sortBy = col;
        for (const other of box.querySelectorAll('th.sortable')) other.removeAttribute('aria-sort');
        th.setAttribute('aria-sort', this.descending ? 'descending' : 'ascending');
        this.page = 0;
        this.update();
      });
    }
    box.querySelector(`#${this.id}-prev`).addEventListener('click', () => {
      this.page = Math.max(0, this.page - 1);
      this.update();
    });
    box.querySelector(`#${this.id}-next`).addEventListener('click', () => {
      this.page++;
      this.update();
    });
    this.update();
  }

  // update renders the current page of the rows that match the filter.
  update() {
    const all = this.rows();
    let shown = all;
    if (this.filter) {
      const q = this.filter;
      shown = all.filter((r) => this.search(r).toLowerCase().includes(q));
    }
    if (this.sortBy >= 0) shown = sorted(shown, this.columns[this.sortBy].sort, this.descending);
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    this.page = Math.min(this.page, pages - 1);
    const start = this.page * PAGE_SIZE;
    const rows = shown.slice(start, start + PAGE_SIZE);
    const cols = this.columns;
    let html = '';
    for (const r of rows) {
      html += `<tr data-key="${esc(this.key(r))}">`;
      for (const c of cols) html += `<td>${c.html(r)}</td>`;
      html += '</tr>';
    }
    if (!rows.length) html = `<tr class="empty"><td colspan="${cols.length}">No ${esc(this.noun)}${this.filter ? ' match the filter' : ''}</td></tr>`;
    this.tbody.innerHTML = html;
    this.countEl.textContent = this.filter ? `${shown.length} of ${all.length} ${this.noun}` : `${all.length} ${this.noun}`;
    this.pageEl.textContent = `page ${this.page + 1} of ${pages}`;
  }
}

// sorted returns a copy of rows ordered by key(row): numbers as numbers, anything else as
// text, ties in the rows' own order.
function sorted(rows, key, descending) {
  const keyed = rows.map((r, i) => [key(r), i, r]);
  const sign = descending ? -1 : 1;
  keyed.sort((a, b) => {
    let c;
    if (typeof a[0] === 'number' && typeof b[0] === 'number') c = a[0] - b[0];
    else c = String(a[0]).localeCompare(String(b[0]));
    return c !== 0 ? sign * c : a[1] - b[1];
  });
  return keyed.map((k) => k[2]);
}
