// Popup: the attributions the worker found on the active tab (chrome.storage.session).
const list = document.getElementById('list');

function link(href, text) {
  const a = document.createElement('a');
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.textContent = text;
  return a;
}

function item(entry) {
  const li = document.createElement('li');
  li.dataset.work = entry.publicId;
  const title = document.createElement('div');
  title.className = 'title';
  title.append(entry.canonicalUrl ? link(entry.canonicalUrl, entry.title) : entry.title);
  li.append(title);
  for (const c of entry.credits || []) {
    const p = document.createElement('div');
    p.className = 'credit';
    const role = document.createElement('span');
    role.className = 'role';
    role.textContent = c.label;
    p.append(role);
    if (c.character) p.append(c.character + ' © ');
    p.append(c.href ? link(c.href, c.name) : c.name);
    li.append(p);
  }
  const via = document.createElement('div');
  via.className = 'via';
  via.textContent = entry.via === 'url' ? 'registered copy' : 'matched by image';
  li.append(via);
  return li;
}

async function main() {
  // A tab id may be given for tests (popup.html?tab=N); otherwise the active tab.
  const asked = Number(new URLSearchParams(location.search).get('tab'));
  let tabId = Number.isInteger(asked) && asked > 0 ? asked : null;
  if (tabId === null) {
    const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
    tabId = tab ? tab.id : -1;
  }
  const key = `tab:${tabId}`;
  const entries = (await chrome.storage.session.get(key))[key] || [];
  list.replaceChildren(...entries.map(item));
  document.getElementById('empty').hidden = entries.length > 0;
}

document.getElementById('options').addEventListener('click', (e) => {
  e.preventDefault();
  chrome.runtime.openOptionsPage();
});
main();
