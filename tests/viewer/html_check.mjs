// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Opens a page of `procscope export --format html` in headless Chromium,
// works it as a user would and writes down what it shows:
//   node html_check.mjs PAGE OUT.json SHOTS_PREFIX [PID]
// OUT.json: the requests the page made besides itself (any is a failure),
// its console errors and uncaught exceptions, when it became interactive,
// and, unless the page says it has nothing to show, for process PID: the
// layout bands in the DOM with the slider at its end and at its middle
// (with the middle's time from time zero), the thread lanes' names in the
// DOM and their running time from the page's own data, and whether a click
// on a lane moved the slider. Screenshots: SHOTS_PREFIX-*.png.
// Exit 0 when the page could be driven; judging is tests/e2e/export_html_check.py's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';

const [page_path, out_path, shots, pid_arg] = process.argv.slice(2);
if (!page_path || !out_path || !shots) {
	console.error('usage: node html_check.mjs PAGE OUT.json SHOTS_PREFIX [PID]');
	process.exit(2);
}
const url = pathToFileURL(path.resolve(page_path)).href;
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'procscope-chromium-'));
const browser = await puppeteer.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	userDataDir,
	args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
		'--disable-component-update', '--disable-sync', '--no-first-run',
		'--disable-dev-shm-usage'],
});
const out = { requests: [], errors: [] };
try {
	const page = await browser.newPage();
	await page.setViewport({ width: 1600, height: 900 });
	await page.setRequestInterception(true);
	page.on('request', (req) => {
		if (req.url() === url) {
			req.continue();
			return;
		}
		out.requests.push(req.url());	// nothing else may be asked for: refused and counted
		req.abort();
	});
	page.on('console', (msg) => {
		if (msg.type() === 'error') out.errors.push('console: ' + msg.text());
	});
	page.on('pageerror', (e) => out.errors.push('exception: ' + e.message));
	await page.goto(url, { waitUntil: 'load', timeout: 120000 });
	await page.waitForFunction(() => window.procscope && window.procscope.ready, { timeout: 120000 });
	Object.assign(out, await page.evaluate(() => ({
		ready_ms: window.procscope.readyMs,
		empty: !!window.procscope.empty,
		message: document.getElementById('message').hidden ? '' : document.getElementById('message').textContent,
		cols: window.procscope.cols,
		col_ns: window.procscope.header.col_ns,
		processes: window.procscope.processes ? window.procscope.processes() : [],
		drawn: window.procscope.header ? window.procscope.header.drawn || 0 : 0,
		summarised: window.procscope.header ? window.procscope.header.summarised || 0 : 0,
		summary: document.getElementById('summary') ? document.getElementById('summary').textContent : '',
	})));
	if (out.empty) {
		await page.screenshot({ path: `${shots}-message.png` });
	} else {
		const pid = Number(pid_arg || 0);
		if (pid) await page.evaluate((p) => window.procscope.selectPid(p), pid);
		const slide = (k) => page.$eval('#slider', (s, k) => {
			s.value = String(k === 'max' ? s.max : k);
			s.dispatchEvent(new Event('input', { bubbles: true }));
			return Number(s.value);
		}, k);
		const bands = () => page.$$eval('#layout .band', (bs) => bs.map((b) => ({
			start: b.dataset.start, end: b.dataset.end, kind: b.dataset.kind, perms: b.dataset.perms,
			path: b.dataset.path, tid: b.dataset.tid ? Number(b.dataset.tid) : 0,
			pieces: Number(b.dataset.pieces || 1), mapped: Number(b.dataset.mapped || 0),
		})));
		out.end_position = await slide('max');
		out.end_bands = await bands();
		await page.screenshot({ path: `${shots}-end.png` });
		out.mid_position = await slide(Math.floor(out.cols / 2));
		out.mid_ns = await page.evaluate((k) => window.procscope.stopNs(k), out.mid_position);
		out.mid_bands = await bands();
		// a hover over a band for the picture: its tooltip says when and by whom it was made
		const band = await page.$('#layout .band:nth-of-type(6)');
		if (band) await band.hover();
		await page.screenshot({ path: `${shots}-middle.png` });
		out.lane_labels = await page.$$eval('.lane-label', (ls) => ls.map((l) => l.textContent));
		out.threads = await page.evaluate(() => window.procscope.threads());
		out.call_stacks = await page.evaluate(() => (window.procscope.callStacks ? window.procscope.callStacks() : []));
		// a click on the first lane, a fifth of the way along, moves the slider there
		const lanes = await page.$('#lanes');
		const box = await lanes.boundingBox();
		await page.mouse.click(box.x + box.width / 5, box.y + 6);
		out.click_position = await page.evaluate(() => window.procscope.position());
		await page.screenshot({ path: `${shots}-click.png` });
	}
} catch (e) {
	out.errors.push('driver: ' + e.message);
} finally {
	await browser.close();
	fs.rmSync(userDataDir, { recursive: true, force: true });
}
fs.writeFileSync(out_path, JSON.stringify(out, null, 1));
console.log(`ready in ${out.ready_ms?.toFixed?.(0)} ms, ${out.requests.length} requests, ${out.errors.length} errors`);
process.exit(0);
