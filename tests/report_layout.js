// report_layout.js — appended to a copy of a spadit compare report by tests/test_compare.sh and run in
// headless Chromium at a given window width: checks what people saw broken in a browser.  Appends a
// pre element with id layout holding OK, or the problems joined by ' | ', once every video has loaded
// its size (or after 2 s).
function checkLayout() {
  const bad = [];
  const r = (e) => e.getBoundingClientRect();
  const inside = (a, b) => a.left >= b.left - 0.5 && a.right <= b.right + 0.5 && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5;
  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
                            Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) bad.push('page wider than the window: ' + doc.scrollWidth + ' > ' + window.innerWidth);
  const wrap = document.querySelector('.tablewrap');
  if (!wrap || !wrap.querySelector('#summary')) bad.push('summary table not inside .tablewrap');
  else {
    if (r(wrap).right > window.innerWidth + 1) bad.push('table box past the window edge');
    if (getComputedStyle(wrap).overflowX !== 'auto' && wrap.scrollWidth > wrap.clientWidth) bad.push('table overflows its box');
  }
  document.querySelectorAll('svg').forEach((svg, i) => {
    const box = r(svg);
    if (box.right > window.innerWidth + 1) bad.push('svg ' + i + ' past the window edge');
    const texts = Array.from(svg.querySelectorAll('text'));
    texts.forEach((t) => { if (!inside(r(t), box)) bad.push('svg ' + i + ': label "' + t.textContent + '" clipped'); });
    for (let a = 0; a < texts.length; a++)
      for (let b = a + 1; b < texts.length; b++)
        if (overlap(r(texts[a]), r(texts[b])))
          bad.push('svg ' + i + ': labels "' + texts[a].textContent + '" and "' + texts[b].textContent + '" overlap');
    svg.querySelectorAll('.xtick').forEach((t) => { if (!/^-?\d+$/.test(t.textContent)) bad.push('svg ' + i + ': x tick "' + t.textContent + '" is not an integer'); });
  });
  document.querySelectorAll('figcaption').forEach((f, i) => {
    if (f.scrollWidth > f.clientWidth + 1 || r(f).right > window.innerWidth + 1) bad.push('caption ' + i + ' cut off');
  });
  document.querySelectorAll('video.sbs').forEach((v, i) => {
    const h = r(v).height;
    if (!v.videoWidth) bad.push('video ' + i + ' did not load');
    if (h < 150) bad.push('video ' + i + ' only ' + h + ' px high: covered by its controls');
    if (r(v).right > window.innerWidth + 1) bad.push('video ' + i + ' past the window edge');
  });
  const pre = document.createElement('pre');
  pre.id = 'layout';
  pre.textContent = bad.length ? bad.join(' | ') : 'OK';
  document.body.appendChild(pre);
}
(function () {
  const vids = Array.from(document.querySelectorAll('video'));
  let left = vids.filter((v) => v.readyState < 1).length, done = false;
  const go = () => { if (!done) { done = true; checkLayout(); } };
  if (!left) return go();
  vids.forEach((v) => {
    if (v.readyState >= 1) return;
    const one = () => { if (--left === 0) go(); };
    v.addEventListener('loadedmetadata', one);
    v.addEventListener('error', one);
  });
  setTimeout(go, 2000);
})();
