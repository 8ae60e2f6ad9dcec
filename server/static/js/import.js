// The import page's live progress: while the import is queued or running, poll the JSON
// status (import.json) and move the bar; when it is done, fill in the result. Without this
// file the page shows the progress as it was when loaded, with a "Refresh" link. Text is only
// ever set with textContent.
(function () {
  'use strict';
  var box = document.getElementById('import-progress');
  if (!box) return;
  var url = box.getAttribute('data-status-url');
  var bar = document.getElementById('import-bar');
  var INTERVAL = 700;

  function set(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = String(value);
  }

  function show(status) {
    var job = status.job;
    if (!job) return false;
    box.setAttribute('data-state', job.state);
    var badge = box.querySelector('h2 .badge');
    if (badge) {
      badge.className = 'badge state-' + job.state;
      badge.textContent = {queued: 'Waiting for a worker', running: 'Importing',
        done: 'Done', failed: 'Failed'}[job.state] || job.state;
    }
    if (job.total) {
      bar.max = job.total;
      bar.value = job.done;
      set('import-counts', job.done + ' of ' + job.total + ' posts read, ' + job.new + ' imported');
    } else if (job.state === 'done') {
      bar.max = 1;
      bar.value = 1;
      set('import-counts', job.new + ' imported');
    }
    set('import-percent', job.percent + '%');
    bar.textContent = job.percent + '%';
    if (job.state === 'done') {
      var r = job.report || {};
      set('import-imported', r.imported || 0);
      set('import-new-artworks', r.new_artworks || 0);
      set('import-grouped', r.grouped || 0);
      set('import-skipped', r.skipped || 0);
      set('import-failed', (r.failed || []).length);
      set('import-proposal-count', status.proposals || 0);
      document.getElementById('import-result').hidden = false;
    }
    if (job.state === 'failed') {
      var error = document.getElementById('import-error');
      error.textContent = job.error || 'The import failed.';
      error.hidden = false;
    }
    var start = document.querySelector('.import-start button[type=submit]');
    if (start) start.disabled = job.state === 'queued' || job.state === 'running';
    return job.state === 'queued' || job.state === 'running';
  }

  function poll() {
    fetch(url, {headers: {Accept: 'application/json'}, credentials: 'same-origin'})
      .then(function (response) {
        if (!response.ok) throw new Error('status ' + response.status);
        return response.json();
      })
      .then(function (status) {
        if (show(status)) window.setTimeout(poll, INTERVAL);
      })
      .catch(function () {
        window.setTimeout(poll, INTERVAL * 4); // a hiccup: try again, more slowly
      });
  }

  var state = box.getAttribute('data-state');
  if (state === 'queued' || state === 'running') window.setTimeout(poll, INTERVAL);
})();
