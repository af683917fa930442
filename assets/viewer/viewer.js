// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// procscope export --format html: the page's program. It reads the data
// the exporter embedded (src/export_html.c describes its records), groups
// it by process and draws the selected one: the layout at the slider's
// time, the memory counters, the memory calls and the thread lanes on one
// time axis, and the process tree. No library, no request: all is here.
'use strict';
(function () {
	const $ = (id) => document.getElementById(id);
	const api = { ready: false };
	window.procscope = api;

	// ---- data ----
	const raw = JSON.parse($('procscope-data').textContent);
	const H = raw[0];
	let footer = {};
	const paths = [];
	const stacks = new Map();	// stack id -> frames, innermost first (export --stacks)
	const forks = [];	// in time order: a parent's own fork comes before its children's
	const procs = new Map();	// uid -> process
	const threads = new Map();	// uid -> thread
	const cols = H.cols, colNs = H.col_ns, span = Math.max(1, H.span);
	const SERIES_COLORS = ['#f28e2b', '#c9a800', '#e15759', '#ff7f7a', '#4e79a7'];
	const CALL_ROWS = ['brk', 'mmap', 'munmap', 'mremap', 'mprotect'];
	const CALL_COLORS = ['#f28e2b', '#4e79a7', '#e15759', '#b07aa1', '#59a14f', '#777'];
	const STATE_NAMES = ['unknown', 'running', 'runnable', 'sleeping', 'blocked', 'stopped', 'dead'];
	const STATE_COLORS = ['#cfcfcf', '#3a9a4a', '#f0a020', '#b9c7d6', '#d9534f', '#9b59b6', '#999'];
	const CPU_COLORS = ['#2e8b57', '#1f77b4', '#17a589', '#6a8d2f', '#2c7fb8', '#4d9221', '#238b8e', '#5e7d1f'];
	const HOW = ['grew', 'shrank', 'split', 're-protected', 'moved', 'merged'];

	function proc(uid) {
		let p = procs.get(uid);
		if (!p) {
			p = { uid, pid: 0, ppid: 0, comm: '?', exe: '', start: 0, end: -1, code: -1, creator: 0,
				born: false, vfork: false, meta: false, regions: [], series: H.series.map(() => []),
				calls: [], dropped: [], execs: [], threads: [], ends: [], allEnd: undefined, cstacks: new Map() };
			procs.set(uid, p);
		}
		return p;
	}
	function thread(uid) {
		let t = threads.get(uid);
		if (!t) {
			t = { uid, puid: -1, tid: 0, name: '?', start: 0, end: -1, creator: 0, lane: [], wake: [],
				depth: [], maxDepth: 0, meta: false };
			threads.set(uid, t);
		}
		return t;
	}
	function append(dst, src) {
		for (let i = 0; i < src.length; i++)
			dst.push(src[i]);
	}
	for (let i = 1; i < raw.length; i++) {
		const r = raw[i];
		if (!Array.isArray(r)) {
			footer = r;
			continue;
		}
		switch (r[0]) {
		case 'S': paths[r[1]] = r[2]; break;
		case 'R': {
			const [, puid, id, s, e, pr, kind, path, tid, o, c] = r;
			proc(puid).regions.push({ id, s, e, sn: parseInt(s, 16), en: parseInt(e, 16), prot: pr & 7,
				shared: !!(pr & 8), kind: H.kinds[kind] || 'other', path: path >= 0 ? paths[path] : '', tid, o,
				c: c < 0 ? Infinity : c, cr: r.length > 11 ? r[11] : o, ctid: r.length > 11 ? r[12] : 0,
				how: r.length > 13 ? r[13] : 0, changes: r.length > 13 ? r[14] : 0, ch: r.length > 13 ? r[15] : -1,
				pieces: r.length > 16 ? r[16] : 1, mapped: r.length > 17 ? parseInt(r[17], 16) : parseInt(e, 16) - parseInt(s, 16) });
			break;
		}
		case 'F': forks.push({ child: r[1], parent: r[2], t: r[3] }); break;
		case 'r': proc(r[1]).ends.push([r[2], r[3]]); break;
		case 'E': if (proc(r[1]).allEnd === undefined) proc(r[1]).allEnd = r[2]; break;
		case 'C': append(proc(r[1]).series[r[2]], r[3]); break;
		case 'L': thread(r[1]).lane.push(r[2], r[3]); break;
		case 'W': append(thread(r[1]).wake, r[2]); break;
		case 'K': {
			const t = thread(r[1]);
			append(t.depth, r[2]);
			for (let k = 2; k < r[2].length; k += 3)
				t.maxDepth = Math.max(t.maxDepth, r[2][k]);
			break;
		}
		case 'M': proc(r[1]).calls.push({ tid: r[2], t: r[3], name: r[4], args: r[5] }); break;
		case 's': stacks.set(r[1], r[2]); break;
		case 'k': proc(r[1]).cstacks.set(r[2] + ':' + r[3], r[4]); break;
		case 'm': proc(r[1]).dropped.push({ col: r[2], n: r[3] }); break;
		case 'X': proc(r[1]).execs.push({ t: r[2], file: r[3] }); break;
		case 'P': {
			const p = proc(r[1]);
			[, , p.pid, p.ppid, p.comm, p.exe, p.start, p.end, p.code, p.creator, p.born, p.vfork] = r;
			p.meta = true;
			break;
		}
		case 'T': {
			const t = thread(r[1]);
			[, , t.puid, t.tid, t.name, t.start, t.end, t.creator] = r;
			t.meta = true;
			proc(t.puid).threads.push(t);
			break;
		}
		}
	}
	// a forked child starts with its parent's versions alive at the fork
	for (const f of forks) {
		const child = proc(f.child), byId = new Map();
		for (const v of proc(f.parent).regions)
			if (v.o <= f.t && f.t < v.c) {
				const w = Object.assign({}, v, { o: f.t, c: Infinity, inherited: true });
				byId.set(v.id, w);
				child.regions.push(w);
			}
		for (const [id, t] of child.ends)
			if (byId.has(id)) byId.get(id).c = t;
		if (child.allEnd !== undefined)
			for (const w of byId.values())
				if (w.c === Infinity) w.c = child.allEnd;
	}
	const plist = [...procs.values()].filter((p) => p.meta).sort((a, b) => a.start - b.start || a.pid - b.pid);
	for (const p of plist) {
		p.regions.sort((a, b) => a.o - b.o);
		p.threads.sort((a, b) => a.start - b.start || a.tid - b.tid);
		p.tnames = new Map(p.threads.map((t) => [t.tid, t.name]));
	}

	// ---- formatting ----
	const esc = (s) => String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';');
	const secs = (t) => ((t - H.zero) / 1e9).toFixed(6);
	function fmtSize(b) {
		const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
		let i = 0;
		while (b >= 1024 && i < u.length - 1) {
			b /= 1024;
			i++;
		}
		return (i ? b.toFixed(b < 10 ? 1 : 0) : b) + ' ' + u[i];
	}
	function fmtDur(ns) {
		if (ns >= 1e9) return (ns / 1e9).toFixed(3) + ' s';
		if (ns >= 1e6) return (ns / 1e6).toFixed(3) + ' ms';
		if (ns >= 1e3) return (ns / 1e3).toFixed(1) + ' us';
		return ns + ' ns';
	}
	const perms = (r) => (r.prot & 1 ? 'r' : '-') + (r.prot & 2 ? 'w' : '-') + (r.prot & 4 ? 'x' : '-') + (r.shared ? 's' : 'p');
	function exitText(code) {
		if (code < 0) return 'exited';
		if ((code & 0x7f) === 0) return 'exit ' + ((code >> 8) & 0xff);
		return 'killed by signal ' + (code & 0x7f);
	}
	const tname = (p, tid) => (p.tnames.get(tid) || '?') + ' (' + tid + ')';

	// ---- time ----
	const stopAt = (k) => Math.min(k * colNs, span);	// slider position -> grid ns
	const posOf = (t) => Math.max(0, Math.min(cols, Math.round(t / colNs)));
	let plotL = 170, plotW = 600;	// the time axis in canvas pixels: x = left + t / span * W
	const xOf = (t, left) => left + (t / span) * plotW;
	const tOf = (x, left) => ((x - left) / plotW) * span;

	// ---- state ----
	let sel = null, pos = 0, playing = false, lastAlive = '', logScale = false;
	const seriesOn = H.series.map(() => true);
	const tip = $('tip');

	function showTip(ev, text) {
		tip.textContent = text;
		tip.hidden = false;
		const w = tip.offsetWidth, h = tip.offsetHeight;
		let x = ev.clientX + 14, y = ev.clientY + 14;
		if (x + w > window.innerWidth - 4) x = Math.max(4, ev.clientX - w - 14);
		if (y + h > window.innerHeight - 4) y = Math.max(4, ev.clientY - h - 14);
		tip.style.left = x + 'px';
		tip.style.top = y + 'px';
	}
	const hideTip = () => { tip.hidden = true; };

	// ---- the layout at one instant ----
	function aliveAt(p, T) {
		const out = [];
		for (const r of p.regions) {
			if (r.o > T) break;	// sorted by opened
			if (T < r.c) out.push(r);
		}
		out.sort((a, b) => b.sn - a.sn);
		return out;
	}
	function label(p, r) {
		if (r.pieces > 1)
			return r.pieces + ' maps with holes between, ' + fmtSize(r.mapped) + ' mapped (one band)' + (r.path ? ' ' + r.path : '');
		switch (r.kind) {
		case 'stack': return '[stack] main thread, grows down';
		case 'thread_stack': return 'stack of thread ' + tname(p, r.tid);
		case 'heap': return '[heap] grows up';
		case 'guard': return 'guard page' + (r.path ? ' ' + r.path : '');
		case 'anon': return 'anonymous' + (r.shared ? ' shared' : '');
		case 'bss': return 'bss of the image below';
		default: return r.path || '';
		}
	}
	const bandHeight = (size) => Math.round(15 + Math.min(57, 3.2 * Math.log2(Math.max(1, size / 4096))));
	let shown = [];

	function renderLayout() {
		const p = sel, T = stopAt(pos);
		const title = $('layout-title'), note = $('layout-note'), box = $('layout');
		title.textContent = 'Address space of ' + p.pid + ' (' + p.comm + ') at ' + secs(T) + ' s';
		if (!p.regions.length) {
			note.textContent = 'No layout was recorded for this process (it did not exec, fork from a traced parent or exist when the recording started).';
			box.innerHTML = '';
			shown = [];
			lastAlive = '';
			return;
		}
		const vs = aliveAt(p, T);
		const exited = p.end >= 0 && T >= p.end;
		const key = p.uid + ':' + exited + ':' + Math.floor(T / colNs) + ':' + vs.map((r) => r.o + '/' + r.s).join(',');
		if (key === lastAlive) return;
		lastAlive = key;
		shown = vs;
		let total = 0;
		for (const r of vs) total += r.mapped;
		note.textContent = vs.length ? vs.length + ' regions, ' + fmtSize(total) + ' mapped' +
			(exited ? ' \u2014 ' + exitText(p.code) + ' at ' + secs(p.end) + ' s: its last layout' : '') :
			(T < p.start ? 'The process does not exist yet at this time.' : 'No layout known at this time.');
		const html = [];
		const top = Math.max(0x800000000000, vs.length ? vs[0].en + 4096 : 0);
		html.push('<div class="rule">0x' + (top - 4096).toString(16) + ' top of user space \u2014 high addresses</div>');
		let below = top - 4096;
		const gap = (bytes, what) => {
			const large = bytes >= (64 << 20);
			html.push('<div class="gap' + (large ? ' large' : '') + '">\u22ef ' + fmtSize(bytes) + ' ' + what +
				(large ? ' (folded)' : '') + '</div>');
		};
		vs.forEach((r, i) => {
			if (r.en < below) gap(below - r.en, 'unmapped');
			const size = r.en - r.sn;
			const fresh = r.o > T - colNs && r.o > 0;
			html.push('<div class="band k-' + esc(r.kind) + (fresh ? ' new' : '') + '" data-i="' + i +
				'" data-start="' + r.s + '" data-end="' + r.e + '" data-kind="' + esc(r.kind) +
				'" data-perms="' + perms(r) + '" data-path="' + esc(r.path) + '" data-tid="' + (r.tid || '') +
				(r.pieces > 1 ? '" data-pieces="' + r.pieces + '" data-mapped="' + r.mapped : '') +
				'" style="height:' + bandHeight(size) + 'px;background:var(--k-' + esc(r.kind) + ')">' +
				'<span class="addr">' + r.s + ' \u2013 ' + r.e + '</span>' +
				'<span class="what"><span class="kind">' + esc(r.kind) + '</span> ' + esc(label(p, r)) + '</span>' +
				'<span class="perms">' + perms(r) + '</span><span class="size">' + fmtSize(size) + '</span></div>');
			below = r.sn;
		});
		if (below > 0) gap(below, 'unmapped (NULL page and below)');
		html.push('<div class="rule">0x0 \u2014 low addresses</div>');
		box.className = exited ? 'exited' : '';
		box.innerHTML = html.join('');
	}

	function regionTip(ev, r) {
		const p = sel;
		const lines = [];
		lines.push(r.kind + '  ' + perms(r) + '  ' + fmtSize(r.en - r.sn));
		if (r.pieces > 1)
			lines.push(r.pieces + ' maps alike folded into this band, ' + fmtSize(r.mapped) + ' of it mapped');
		lines.push('0x' + r.s + ' - 0x' + r.e);
		if (r.path) lines.push(r.path);
		if (r.kind === 'thread_stack') lines.push('owned by thread ' + tname(p, r.tid));
		lines.push('created ' + (r.ctid ? 'by thread ' + tname(p, r.ctid) : 'by exec, fork or before the recording') +
			' at ' + secs(r.cr) + ' s');
		if (r.changes) {
			const how = HOW.filter((h, b) => r.how & (1 << b)).join(', ');
			lines.push(r.changes + ' change' + (r.changes > 1 ? 's' : '') + (how ? ' (' + how + ')' : '') +
				(r.ch >= 0 ? ', last at ' + secs(r.ch) + ' s' : ''));
		}
		// its versions: same creation, near the same addresses
		const hist = p.regions.filter((v) => v.cr === r.cr && v.ctid === r.ctid &&
			v.sn < r.en + (1 << 30) && v.en > r.sn - (1 << 30));
		if (hist.length > 1) {
			lines.push('history (as the slider sees it):');
			for (const v of hist.slice(-12))
				lines.push('  ' + secs(v.o) + ' s  ' + v.s + '-' + v.e + ' ' + perms(v) + ' ' + fmtSize(v.en - v.sn) +
					(v.c === Infinity ? '' : '  until ' + secs(v.c) + ' s'));
			if (hist.length > 12) lines.push('  ... ' + (hist.length - 12) + ' earlier');
		}
		showTip(ev, lines.join('\n'));
	}
	$('layout').addEventListener('mousemove', (ev) => {
		const b = ev.target.closest('.band');
		if (!b) return hideTip();
		regionTip(ev, shown[+b.dataset.i]);
	});
	$('layout').addEventListener('mouseleave', hideTip);

	// ---- canvases ----
	function canvas(id, width, height) {
		const c = $(id), dpr = window.devicePixelRatio || 1;
		c.width = Math.max(1, Math.round(width * dpr));
		c.height = Math.max(1, Math.round(height * dpr));
		c.style.width = width + 'px';
		c.style.height = height + 'px';
		const g = c.getContext('2d');
		g.setTransform(dpr, 0, 0, dpr, 0, 0);
		g.clearRect(0, 0, width, height);
		g.font = '11px system-ui, sans-serif';
		return g;
	}
	function niceStep(range, n) {
		const r = range / n, mag = Math.pow(10, Math.floor(Math.log10(r)));
		for (const m of [1, 2, 5, 10])
			if (m * mag >= r) return m * mag;
		return 10 * mag;
	}
	function drawRuler() {
		const w = $('ruler-box').clientWidth;
		const g = canvas('ruler', w, 22);
		const s0 = -H.zero / 1e9, s1 = (span - H.zero) / 1e9;
		const step = niceStep(Math.max(1e-9, s1 - s0), Math.max(2, plotW / 110));
		g.fillStyle = '#6b7075';
		g.strokeStyle = '#b8bbbe';
		g.fillText('seconds', 4, 14);
		for (let s = Math.ceil(s0 / step) * step; s <= s1 + 1e-12; s += step) {
			const x = xOf(s * 1e9 + H.zero, plotL);
			g.beginPath();
			g.moveTo(x + 0.5, 14);
			g.lineTo(x + 0.5, 22);
			g.stroke();
			g.fillText(String(+s.toFixed(9)), x + 3, 12);
		}
	}

	function seriesValue(pts, T) {
		let lo = 0, hi = pts.length / 2 - 1, v = null;
		while (lo <= hi) {
			const m = (lo + hi) >> 1;
			if (pts[2 * m] <= T) {
				v = pts[2 * m + 1];
				lo = m + 1;
			} else {
				hi = m - 1;
			}
		}
		return v;
	}
	function drawChart() {
		const p = sel, w = $('chart-box').clientWidth, h = 150;
		const g = canvas('chart', w, h);
		let max = 0;
		p.series.forEach((pts, i) => {
			if (!seriesOn[i]) return;
			for (let k = 1; k < pts.length; k += 2) max = Math.max(max, pts[k]);
		});
		const top = 8, bottom = h - 6;
		// log: heap and stacks stay visible beside a large RSS
		const frac = (v) => (!max ? 0 : logScale ? Math.log1p(v) / Math.log1p(max) : v / max);
		const yOf = (v) => bottom - frac(v) * (bottom - top);
		g.strokeStyle = '#e3e5e7';
		g.fillStyle = '#6b7075';
		for (let k = 0; k <= 4; k++) {
			const y = Math.round(top + (k * (bottom - top)) / 4) + 0.5;
			g.beginPath();
			g.moveTo(plotL, y);
			g.lineTo(w, y);
			g.stroke();
			const f = 1 - k / 4;
			if (max) g.fillText(fmtSize(Math.round(logScale ? Math.expm1(f * Math.log1p(max)) : max * f)), 4, y + 4);
		}
		if (!max) g.fillText('no memory counters recorded', plotL + 8, h / 2);
		const end = p.end >= 0 ? Math.min(p.end, span) : span;
		p.series.forEach((pts, i) => {
			if (!seriesOn[i] || !pts.length) return;
			g.strokeStyle = SERIES_COLORS[i];
			g.lineWidth = 1.5;
			g.beginPath();
			g.moveTo(xOf(pts[0], plotL), yOf(pts[1]));
			for (let k = 2; k < pts.length; k += 2) {
				const x = xOf(pts[k], plotL);
				g.lineTo(x, yOf(pts[k - 1]));
				g.lineTo(x, yOf(pts[k + 1]));
			}
			g.lineTo(xOf(Math.max(end, pts[pts.length - 2]), plotL), yOf(pts[pts.length - 1]));
			g.stroke();
		});
		g.lineWidth = 1;
	}
	function updateLegend() {
		const p = sel, T = stopAt(pos);
		$('legend').innerHTML = H.series.map((name, i) => {
			const v = seriesValue(p.series[i], T);
			return '<span data-s="' + i + '" class="' + (seriesOn[i] ? '' : 'off') + '"><i style="background:' +
				SERIES_COLORS[i] + '"></i>' + esc(name) + ' ' + (v === null ? '\u2013' : fmtSize(v)) + '</span>';
		}).join('');
	}
	$('legend').addEventListener('click', (ev) => {
		const s = ev.target.closest('span[data-s]');
		if (!s) return;
		seriesOn[+s.dataset.s] = !seriesOn[+s.dataset.s];
		drawChart();
		updateLegend();
	});

	$('scale').addEventListener('click', () => {
		logScale = !logScale;
		$('scale').textContent = logScale ? 'log' : 'lin';
		drawChart();
	});

	const callRow = (name) => {
		const i = CALL_ROWS.indexOf(name);
		return i < 0 ? CALL_ROWS.length : i;
	};
	const callStack = (p, c) => {
		const id = p.cstacks.get(c.tid + ':' + c.t);
		return id === undefined ? [] : stacks.get(id) || [];
	};
	function drawCalls() {
		const p = sel, w = $('calls-box').clientWidth, h = 60, rh = 9;
		const g = canvas('calls', w, h);
		g.font = '9px system-ui, sans-serif';
		g.fillStyle = '#6b7075';
		CALL_ROWS.concat(['other']).forEach((n, i) => g.fillText(n, 4, 8 + i * rh));
		g.fillStyle = 'rgba(120,120,120,.28)';
		for (const d of p.dropped) {
			const x0 = xOf(d.col * colNs, plotL), x1 = xOf(Math.min(span, (d.col + 1) * colNs), plotL);
			g.fillRect(x0, 0, Math.max(1, x1 - x0), h);
		}
		for (const c of p.calls) {
			const row = callRow(c.name);
			g.fillStyle = CALL_COLORS[row];
			g.fillRect(Math.round(xOf(c.t, plotL)), row * rh + 1, 2, rh - 2);
		}
		let more = 0;
		for (const d of p.dropped) more += d.n;
		$('calls-note').textContent = p.calls.length ? p.calls.length + ' shown' +
			(more ? ', ' + more + ' more folded into grey columns' : '') + ' \u2014 hover for arguments' : 'none recorded';
	}
	$('calls').addEventListener('mousemove', (ev) => {
		const p = sel, x = ev.offsetX, row = Math.floor(ev.offsetY / 9);
		let best = null, bd = 5;
		for (const c of p.calls) {
			const d = Math.abs(xOf(c.t, plotL) - x) + (callRow(c.name) === row ? 0 : 2);
			if (d < bd) {
				bd = d;
				best = c;
			}
		}
		if (best) {
			const frames = callStack(p, best);
			return showTip(ev, best.name + ' at ' + secs(best.t) + ' s by thread ' + tname(p, best.tid) + '\n' +
				best.args.split(' ').join('\n') + (frames.length ? '\ncall stack:\n  ' + frames.slice(0, 24).join('\n  ') +
				(frames.length > 24 ? '\n  ... ' + (frames.length - 24) + ' more' : '') : ''));
		}
		const col = Math.floor(tOf(x, plotL) / colNs);
		const d = p.dropped.find((e) => e.col === col);
		if (d) return showTip(ev, d.n + ' more memory calls in this pixel column (' + secs(col * colNs) + ' s)');
		hideTip();
	});
	$('calls').addEventListener('mouseleave', hideTip);

	// ---- thread lanes ----
	const ROW = 20, LANE_H = 17;
	function laneItems(t, fn) {	// fn(start, dur, code, run, wait, blocked)
		for (let c = 0; c < t.lane.length; c += 2) {
			let s = t.lane[c];
			const it = t.lane[c + 1];
			for (let i = 0; i < it.length;) {
				const code = it[i], dur = it[i + 1];
				if (code === 7) {
					fn(s, dur, code, it[i + 2], it[i + 3], it[i + 4]);
					i += 5;
				} else {
					fn(s, dur, code, 0, 0, 0);
					i += 2;
				}
				s += dur;
			}
		}
	}
	function runningNs(t) {
		let ns = 0;
		laneItems(t, (s, dur, code, run) => {
			if (code === 7) ns += run;
			else if ((code & 7) === 1) ns += dur;
		});
		return ns;
	}
	function setupLanes() {
		const p = sel;
		$('lanes-inner').style.height = Math.max(ROW, p.threads.length * ROW) + 'px';
		$('lane-labels').innerHTML = p.threads.map((t, i) => '<div class="lane-label" style="top:' + i * ROW +
			'px" data-tid="' + t.tid + '" title="' + esc(t.name + ' (' + t.tid + ')') + '">' + esc(t.name) +
			' <span class="muted">' + t.tid + '</span></div>').join('') +
			(p.threads.length ? '' : '<div class="lane-label muted">no threads recorded</div>');
		$('lanes-scroll').scrollTop = 0;
	}
	function drawLanes() {
		const p = sel, sc = $('lanes-scroll');
		const w = plotW;	// the time axis only: x on the lanes is x on the charts, minus plotL
		const h = Math.max(ROW, Math.min(sc.clientHeight, p.threads.length * ROW));
		const g = canvas('lanes', w, h);
		const first = Math.floor(sc.scrollTop / ROW);
		const last = Math.min(p.threads.length, Math.ceil((sc.scrollTop + h) / ROW));
		for (let i = first; i < last; i++) {
			const t = p.threads[i], y = i * ROW - sc.scrollTop;
			g.fillStyle = '#f3f4f5';
			g.fillRect(0, y, w, LANE_H);
			laneItems(t, (s, dur, code, run, wait, blk) => {
				const x0 = xOf(s, 0), x1 = xOf(s + dur, 0);
				if (x1 < 0 || x0 > w) return;
				const wd = Math.max(x1 - x0, 1);
				if (code === 7) {
					let yy = y + LANE_H;
					for (const [ns, col] of [[run, STATE_COLORS[1]], [wait, STATE_COLORS[2]], [blk, STATE_COLORS[4]]]) {
						const hh = (ns / dur) * LANE_H;
						g.fillStyle = col;
						g.fillRect(x0, yy - hh, wd, hh);
						yy -= hh;
					}
					return;
				}
				const st = code & 7, cpu = (code >> 3) - 1;
				g.fillStyle = st === 1 && cpu >= 0 ? CPU_COLORS[cpu % CPU_COLORS.length] : STATE_COLORS[st] || '#ccc';
				if (st === 3) g.fillRect(x0, y + LANE_H / 2 - 2, wd, 4);
				else g.fillRect(x0, y, wd, LANE_H);
				if (st === 1 && cpu >= 0 && wd > 16) {
					g.fillStyle = '#fff';
					g.fillText(String(cpu), x0 + 3, y + 12);
				}
			});
			g.fillStyle = '#222';
			for (let k = 0; k < t.wake.length; k += 2)
				g.fillRect(Math.round(xOf(t.wake[k], 0)), y, 1, 4);
			if (t.maxDepth) {
				g.fillStyle = 'rgba(60,60,60,.55)';
				for (let k = 0; k < t.depth.length; k += 3) {
					const hh = Math.max(1, (t.depth[k + 2] / t.maxDepth) * 5);
					g.fillRect(xOf(t.depth[k] * colNs, 0), y + LANE_H - hh, Math.max(1, xOf(colNs, 0)), hh);
				}
			}
		}
	}
	function laneAt(t, T) {
		let found = null;
		laneItems(t, (s, dur, code, run, wait, blk) => {
			if (!found && s <= T && T < s + dur) found = { s, dur, code, run, wait, blk };
		});
		return found;
	}
	function laneTip(ev) {
		const p = sel, sc = $('lanes-scroll');
		const t = p.threads[Math.floor((ev.offsetY + sc.scrollTop) / ROW)];
		if (!t) return hideTip();
		const T = tOf(ev.offsetX, 0), it = laneAt(t, T);
		const lines = [t.name + ' (thread ' + t.tid + ')', 'at ' + secs(T) + ' s'];
		if (it && it.code === 7) {
			const pct = (ns) => (100 * ns / it.dur).toFixed(1) + '% (' + fmtDur(ns) + ')';
			lines.push('short intervals ' + secs(it.s) + ' - ' + secs(it.s + it.dur) + ' s:');
			lines.push('  running ' + pct(it.run), '  runnable ' + pct(it.wait), '  blocked ' + pct(it.blk),
				'  sleeping or other ' + pct(it.dur - it.run - it.wait - it.blk));
		} else if (it) {
			const st = it.code & 7, cpu = (it.code >> 3) - 1;
			lines.push(STATE_NAMES[st] + (cpu >= 0 ? ' on CPU ' + cpu : '') + ' for ' + fmtDur(it.dur) + ' from ' + secs(it.s) + ' s');
		}
		const col = Math.floor(T / colNs);
		for (let k = 0; k < t.wake.length; k += 2)
			if (Math.floor(t.wake[k] / colNs) === col) lines.push('woken ' + t.wake[k + 1] + ' time(s) in this pixel column');
		for (let k = 0; k < t.depth.length; k += 3)
			if (t.depth[k] === col) lines.push('stack depth ' + fmtSize(t.depth[k + 1]) + ' - ' + fmtSize(t.depth[k + 2]));
		lines.push('running in all ' + fmtDur(runningNs(t)));
		if (t.creator) lines.push('created by thread ' + t.creator + ' at ' + secs(t.start) + ' s');
		if (t.end >= 0) lines.push('exited at ' + secs(t.end) + ' s');
		showTip(ev, lines.join('\n'));
	}
	$('lanes').addEventListener('mousemove', laneTip);
	$('lanes').addEventListener('mouseleave', hideTip);
	$('lanes').addEventListener('click', (ev) => setPos(posOf(tOf(ev.offsetX, 0))));
	$('lanes-scroll').addEventListener('scroll', () => drawLanes());
	for (const id of ['chart', 'calls', 'ruler'])
		$(id).addEventListener('click', (ev) => {
			if (ev.offsetX >= plotL) setPos(posOf(tOf(ev.offsetX, plotL)));
		});
	$('lanes-legend').innerHTML = [['running (colour: CPU)', CPU_COLORS[0]], ['runnable', STATE_COLORS[2]],
		['sleeping', STATE_COLORS[3]], ['blocked', STATE_COLORS[4]], ['unknown', STATE_COLORS[0]], ['wakeup', '#222']]
		.map(([n, c]) => '<span><i style="background:' + c + '"></i>' + n + '</span>').join('');

	// ---- process tree ----
	function parentOf(p) {
		let best = null;
		for (const q of plist)
			if (q.pid === p.ppid && q !== p && q.start <= p.start && (!best || q.start > best.start)) best = q;
		return best;
	}
	function renderTree() {
		const kids = new Map(), roots = [];
		for (const p of plist) {
			const q = parentOf(p);
			if (q) {
				if (!kids.has(q)) kids.set(q, []);
				kids.get(q).push(p);
			} else {
				roots.push(p);
			}
		}
		const html = [];
		const walk = (p, depth) => {
			const pad = 'padding-left:' + (depth * 12 + 2) + 'px';
			html.push('<div class="node' + (p === sel ? ' sel' : '') + '" data-uid="' + p.uid + '" style="' + pad + '">' +
				'<b>' + p.pid + '</b> ' + esc(p.comm) + (p.vfork ? ' <span class="muted">vfork</span>' : '') + '</div>');
			const ev = (cls, text) => html.push('<div class="ev' + cls + '" style="' + pad + '">' + esc(text) + '</div>');
			if (p.born) ev('', 'forked at ' + secs(p.start) + ' s' + (p.creator ? ' by ' + p.creator : ''));
			for (const e of p.execs) ev('', 'exec ' + e.file + ' at ' + secs(e.t) + ' s');
			if (p.end >= 0) ev(p.code > 0 ? ' exit-bad' : '', exitText(p.code) + ' at ' + secs(p.end) + ' s');
			for (const k of kids.get(p) || []) walk(k, depth + 1);
		};
		roots.forEach((p) => walk(p, 0));
		$('tree').innerHTML = html.join('');
	}
	$('tree').addEventListener('click', (ev) => {
		const n = ev.target.closest('.node');
		if (n) select(procs.get(+n.dataset.uid));
	});

	// ---- putting it together ----
	function measure() {
		plotL = parseInt(getComputedStyle(document.documentElement).getPropertyValue('--label-w'), 10) || 170;
		plotW = Math.max(50, $('chart-box').clientWidth - plotL - 8);
	}
	function placeCursor() {
		const box = $('ruler-box'), cur = $('cursor'), sc = $('lanes-scroll');
		cur.style.left = box.offsetLeft + xOf(stopAt(pos), plotL) + 'px';
		cur.style.top = box.offsetTop + 'px';
		cur.style.height = sc.offsetTop + sc.offsetHeight - box.offsetTop + 'px';
	}
	function setPos(k) {
		pos = Math.max(0, Math.min(cols, k | 0));
		$('slider').value = pos;
		$('time').textContent = secs(stopAt(pos)) + ' s' + (pos === cols ? ' (end)' : '');
		renderLayout();
		updateLegend();
		placeCursor();
	}
	function drawAll() {
		measure();
		drawRuler();
		drawChart();
		drawCalls();
		drawLanes();
		placeCursor();
	}
	function select(p) {
		if (!p) return;
		sel = p;
		lastAlive = '';
		$('proc-select').value = String(p.uid);
		renderTree();
		setupLanes();
		drawAll();
		setPos(pos);
		if (location.hash !== '#pid=' + p.pid) history.replaceState(null, '', '#pid=' + p.pid);
	}
	function play() {
		playing = !playing;
		$('play').innerHTML = playing ? '&#10074;&#10074;' : '&#9654;';
		if (!playing) return;
		if (pos >= cols) setPos(0);
		let last = performance.now(), acc = 0;
		const step = (now) => {
			if (!playing) return;
			acc += ((now - last) * cols) / 12000;	// the whole recording in 12 s
			last = now;
			if (acc >= 1) {
				setPos(pos + Math.floor(acc));
				acc -= Math.floor(acc);
			}
			if (pos >= cols) {
				playing = false;
				$('play').innerHTML = '&#9654;';
				return;
			}
			requestAnimationFrame(step);
		};
		requestAnimationFrame(step);
	}

	function start() {
		$('command').textContent = (H.command || '') + (H.kernel ? '  \u00b7  Linux ' + H.kernel : '') +
			'  \u00b7  ' + fmtDur(span) + (footer.lost_records ? '  \u00b7  ' + footer.lost_records + ' records lost' : '');
		if (!plist.length) {
			const m = $('message');
			m.hidden = false;
			m.textContent = !footer.records ? 'This session has no records: there is nothing to show.' :
				H.pid ? 'Process ' + H.pid + ' has no records in this session.' :
				'This session has records but no process to show.';
			api.empty = true;
			return;
		}
		$('app').hidden = false;
		if (H.summarised) {	// a busy session: only the busiest processes are drawn
			const sm = $('summary');
			sm.hidden = false;
			const named = H.names.map(([n, k]) => (n || 'others') + ' \u00d7' + k);
			sm.textContent = 'The ' + H.drawn + ' busiest processes (by records) are drawn; ' + H.summarised +
				' more (' + H.summarised_records + ' records) are not: ' + named.slice(0, 8).join(', ') +
				(named.length > 8 ? ', \u2026 (hover for all)' : '') + '. Export with --pid PID to draw one of them.';
			sm.title = named.join(', ');
		}
		const opt = $('proc-select');
		opt.innerHTML = plist.map((p) => '<option value="' + p.uid + '">' + p.pid + ' ' + esc(p.comm) + '</option>').join('');
		opt.addEventListener('change', () => select(procs.get(+opt.value)));
		const slider = $('slider');
		slider.max = cols;
		slider.addEventListener('input', () => setPos(+slider.value));
		$('play').addEventListener('click', play);
		document.addEventListener('keydown', (ev) => {
			if (ev.key === ' ' && ev.target.tagName !== 'SELECT' && ev.target.tagName !== 'BUTTON') {
				ev.preventDefault();
				play();
			}
		});
		window.addEventListener('resize', () => {
			lastAlive = '';
			drawAll();
			setPos(pos);
		});
		// first shown: #pid=N, --pid, the recorded command (born here, exec'd), else the busiest
		const want = /pid=(\d+)/.exec(location.hash);
		const byPid = (pid) => plist.find((p) => p.pid === pid);
		const first = (want && byPid(+want[1])) || (H.pid && byPid(H.pid)) ||
			plist.find((p) => p.born && p.execs.length && p.regions.length) ||
			plist.slice().sort((a, b) => (b.regions.length + b.threads.length) - (a.regions.length + a.threads.length))[0];
		pos = cols;
		select(first);
	}
	start();
	// for tests and scripts: what the page shows, from the page's own data
	Object.assign(api, {
		ready: true,
		readyMs: performance.now(),
		cols,
		header: H,
		footer,
		stopNs: (k) => stopAt(k) - H.zero,	// slider position -> ns from time zero (layout --at)
		setPosition: (k) => setPos(k),
		position: () => pos,
		selectPid: (pid) => select(plist.find((p) => p.pid === pid)),
		processes: () => plist.map((p) => ({ pid: p.pid, comm: p.comm, regions: p.regions.length })),
		callStacks: () => (sel ? sel.calls.map((c) => ({ name: c.name, tid: c.tid, t: c.t, frames: callStack(sel, c) }))
			.filter((c) => c.frames.length) : []),
		threads: () => (sel ? sel.threads.map((t) => ({ tid: t.tid, name: t.name, running_ns: runningNs(t) })) : []),
	});
})();
