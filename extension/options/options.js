// Options page: registry URL, sites, repost detection, "all sites" (an optional permission).
import { ALL_SITES_ORIGINS, SITES, loadSettings, registryPermission, validRegistry } from '../lib/settings.js';

const $ = (id) => document.getElementById(id);
const status = $('status');

function say(text, error = false) {
  status.textContent = text;
  status.className = error ? 'error' : '';
}

function siteBoxes() {
  const box = $('sites');
  for (const s of SITES) {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.id = `site-${s.id}`;
    input.dataset.site = s.id;
    label.append(input, ' ' + s.name);
    box.append(label);
  }
}

async function show() {
  const s = await loadSettings(chrome.storage.local);
  $('registry').value = s.registry;
  for (const input of document.querySelectorAll('[data-site]')) input.checked = s.sites[input.dataset.site] !== false;
  $('reposts').checked = s.reposts;
  $('restore').checked = s.restore;
  $('allSites').checked = s.allSites && (await chrome.permissions.contains({ origins: ALL_SITES_ORIGINS }));
  document.body.dataset.shown = 'true'; // every box reflects the stored settings (tests wait on it)
}

// Permission requests must start in the click itself (a user gesture): no await before them.
$('allSites').addEventListener('change', (e) => {
  if (!e.target.checked) {
    chrome.permissions.remove({ origins: ALL_SITES_ORIGINS }).catch(() => {});
    return;
  }
  chrome.permissions.request({ origins: ALL_SITES_ORIGINS }).then((granted) => {
    if (!granted) {
      e.target.checked = false;
      say('Permission for all sites was not granted.', true);
    }
  }, () => {
    e.target.checked = false;
  });
});

$('form').addEventListener('submit', (e) => {
  e.preventDefault();
  const registry = validRegistry($('registry').value);
  if (!registry) {
    say('The registry URL must be an http(s) address such as https://credits.example', true);
    return;
  }
  // Host permission for the registry: already granted for loopback (self-hosting); for any
  // other registry the browser asks once. Requested before any await (user gesture).
  const asked = chrome.permissions.request({ origins: [registryPermission(registry)] });
  asked.then(async (granted) => {
    if (!granted) {
      say(`Creditline needs permission to contact ${new URL(registry).host} to use it as registry.`, true);
      return;
    }
    const sites = {};
    for (const input of document.querySelectorAll('[data-site]')) sites[input.dataset.site] = input.checked;
    const settings = {
      registry,
      sites,
      reposts: $('reposts').checked,
      restore: $('restore').checked,
      allSites: $('allSites').checked,
    };
    await chrome.storage.local.set({ settings });
    $('registry').value = registry;
    say('Saved');
  }, (err) => say(String(err && err.message ? err.message : err), true));
});

siteBoxes();
show();
