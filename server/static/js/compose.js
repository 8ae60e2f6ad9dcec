// Progressive enhancement for the compose and edit pages: the live preview per platform,
// @[person] suggestions in the description, one more credit row on demand, and choosing
// "At" when a time is picked. Without this file every feature still works through the
// form's buttons. User text is only ever set with textContent / value; the preview HTML
// comes from the server's escaped template.
(function () {
  'use strict';
  var form = document.getElementById('compose-form');
  if (!form) return;

  // -- live preview -------------------------------------------------------------------------
  var slot = document.getElementById('preview-slot');
  var section = slot && slot.closest('.preview');
  var url = form.getAttribute('data-preview-url');
  var timer = null;
  var seq = 0;

  function previewBody() {
    var data = new FormData(form);
    data.delete('images');
    data.delete('action');
    return data;
  }

  function refresh() {
    var mine = ++seq;
    var token = form.querySelector('input[name=csrf_token]');
    if (section) section.classList.add('is-loading');
    fetch(url, {
      method: 'POST',
      body: previewBody(),
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': token ? token.value : '', 'Accept': 'text/html' },
    }).then(function (response) {
      if (!response.ok) throw new Error('preview HTTP ' + response.status);
      return response.text();
    }).then(function (html) {
      if (mine !== seq) return; // a newer request is on its way
      slot.innerHTML = html; // server-rendered with autoescape
      slot.setAttribute('data-updated', String(mine));
    }).catch(function () {
      // keep the last preview; the Preview button still works
    }).then(function () {
      if (mine === seq && section) section.classList.remove('is-loading');
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  if (slot && url) {
    form.addEventListener('input', function (e) {
      if (e.target && e.target.type === 'file') return;
      schedule();
    });
    form.addEventListener('change', function (e) {
      if (e.target && e.target.type === 'file') return;
      schedule();
    });
  }

  // -- "At" follows the time picker ---------------------------------------------------------
  var when = document.getElementById('scheduled_at');
  var later = document.getElementById('when-later');
  if (when && later) {
    when.addEventListener('input', function () { later.checked = true; });
  }

  // -- @[person] suggestions ----------------------------------------------------------------
  var description = form.querySelector('[data-mention-input]');
  var chips = Array.prototype.slice.call(form.querySelectorAll('[data-mention]'));
  var people = chips.map(function (chip) {
    return { key: chip.getAttribute('data-mention'), name: chip.getAttribute('title') || '' };
  });

  function insertAtCursor(textarea, text, replaceFrom) {
    var start = replaceFrom !== undefined ? replaceFrom : textarea.selectionStart;
    var end = textarea.selectionEnd;
    var value = textarea.value;
    textarea.value = value.slice(0, start) + text + value.slice(end);
    var caret = start + text.length;
    textarea.setSelectionRange(caret, caret);
    textarea.focus();
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
  }

  chips.forEach(function (chip) {
    chip.addEventListener('click', function () {
      insertAtCursor(description, '@[' + chip.getAttribute('data-mention') + ']');
    });
  });

  if (description && people.length) {
    var list = document.createElement('ul');
    list.className = 'mention-suggest';
    list.setAttribute('role', 'listbox');
    list.id = 'mention-suggest';
    list.hidden = true;
    description.insertAdjacentElement('afterend', list);
    description.setAttribute('aria-controls', list.id);
    var active = 0;
    var open = null; // {start, matches}

    function query() {
      var before = description.value.slice(0, description.selectionStart);
      var m = /@\[([A-Za-z0-9_.\-]*)$/.exec(before);
      if (!m) return null;
      var q = m[1].toLowerCase();
      var matches = people.filter(function (p) {
        return p.key.toLowerCase().indexOf(q) === 0 || p.name.toLowerCase().indexOf(q) !== -1;
      }).slice(0, 8);
      return matches.length ? { start: before.length - m[0].length, matches: matches } : null;
    }

    function render() {
      list.textContent = '';
      if (!open) { list.hidden = true; return; }
      open.matches.forEach(function (p, i) {
        var li = document.createElement('li');
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', i === active ? 'true' : 'false');
        li.textContent = '@[' + p.key + '] ' + p.name;
        li.addEventListener('mousedown', function (e) { e.preventDefault(); pick(i); });
        list.appendChild(li);
      });
      list.hidden = false;
    }

    function pick(i) {
      var p = open.matches[i];
      var start = open.start;
      open = null;
      render();
      insertAtCursor(description, '@[' + p.key + ']', start);
    }

    description.addEventListener('input', function () {
      open = query();
      active = 0;
      render();
    });
    description.addEventListener('keydown', function (e) {
      if (!open) return;
      if (e.key === 'ArrowDown') { active = (active + 1) % open.matches.length; render(); e.preventDefault(); }
      else if (e.key === 'ArrowUp') { active = (active + open.matches.length - 1) % open.matches.length; render(); e.preventDefault(); }
      else if (e.key === 'Enter' || e.key === 'Tab') { pick(active); e.preventDefault(); }
      else if (e.key === 'Escape') { open = null; render(); }
    });
    description.addEventListener('blur', function () { open = null; render(); });
  }

  // -- one more credit row ------------------------------------------------------------------
  var rows = form.querySelector('[data-credit-rows]');
  if (rows) {
    var add = document.createElement('button');
    add.type = 'button';
    add.textContent = 'Add a credit';
    add.addEventListener('click', function () {
      var all = rows.querySelectorAll('[data-credit-row]');
      if (all.length >= 100) return;
      var copy = all[all.length - 1].cloneNode(true);
      var index = all.length;
      copy.querySelectorAll('[id], [name], [for]').forEach(function (el) {
        ['id', 'name', 'for', 'aria-describedby'].forEach(function (attr) {
          var v = el.getAttribute(attr);
          if (v) el.setAttribute(attr, v.replace(/_\d+(-error)?$/, '_' + index + '$1'));
        });
        if (el.tagName === 'INPUT') el.value = '';
        if (el.tagName === 'SELECT' && el.name.indexOf('credit_person_') === 0) el.value = '';
        el.removeAttribute('aria-invalid');
      });
      copy.querySelectorAll('.field-error').forEach(function (el) { el.remove(); });
      rows.appendChild(copy);
    });
    rows.insertAdjacentElement('afterend', add);
  }
})();
