// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// Opens a profile in speedscope (from npm) in headless Chromium and checks
// that the page shows the expected names: profile titles (threads) and
// frame names (functions of the call stacks, listed as text by the Sandwich
// view; the flame charts are drawn on a canvas); saves a screenshot.
//   node speedscope_check.mjs PROFILE SCREENSHOT NAME...
// Exit 0 when every NAME is shown, 1 otherwise (the page text is printed).
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const [profile, screenshot, ...names] = process.argv.slice(2);
if (!profile || !screenshot || !names.length) {
	console.error('usage: node speedscope_check.mjs PROFILE SCREENSHOT NAME...');
	process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const release = path.join(here, 'node_modules/speedscope/dist/release');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css',
	'.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png' };

// speedscope fetches #profileURL=...: file:// is not fetchable, so serve both.
const server = http.createServer((req, res) => {
	const url = decodeURIComponent(req.url.split(/[?#]/)[0]);
	const file = url === '/profile.json' ? profile : path.join(release, path.normalize(url));
	fs.readFile(file, (err, data) => {
		if (err) { res.writeHead(404); res.end(); return; }
		res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
		res.end(data);
	});
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}`;
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'procscope-chromium-'));
const browser = await puppeteer.launch({
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	userDataDir,
	args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
		'--disable-component-update', '--disable-sync', '--no-first-run',
		'--disable-dev-shm-usage'],
});
let ok = false;
try {
	const page = await browser.newPage();
	await page.setViewport({ width: 1600, height: 900 });
	page.on('pageerror', (e) => console.error('page error:', e.message));
	await page.goto(`${base}/index.html#profileURL=${encodeURIComponent(base + '/profile.json')}`,
		{ waitUntil: 'load' });
	// loaded when the toolbar shows which profile of how many: "(1/N)"
	await page.waitForFunction(() => /\(\d+\/\d+\)/.test(document.body.innerText), { timeout: 60000 });
	// the Sandwich view ("3") lists every frame of the profile as text
	await page.keyboard.press('3');
	await page.waitForFunction(() => /Symbol Name/.test(document.body.innerText), { timeout: 60000 });
	// several profiles per thread: step through them with speedscope's "n"
	// key (next profile) and collect every title and frame the page shows
	// (the file says which profile opens first: start from the first)
	const title = () => page.evaluate(() => document.body.innerText);
	const at = /\((\d+)\/(\d+)\)/.exec(await title());
	const first = Number(at[1]), total = Number(at[2]);
	for (let i = first; i > 1; i--) {
		await page.keyboard.press('p');
		await page.waitForFunction((k) => document.body.innerText.includes(`(${k}/`), {}, i - 1);
	}
	let text = await title();
	for (let i = 1; i < total; i++) {
		await page.keyboard.press('n');
		await page.waitForFunction((k) => document.body.innerText.includes(`(${k}/`), {}, i + 1);
		text += '\n' + await title();
	}
	// back to the profile the file opens with, as a flame chart ("1": Time Order), for the picture
	for (let i = total; i > first; i--)
		await page.keyboard.press('p');
	await page.keyboard.press('1');
	await new Promise((r) => setTimeout(r, 300));
	await page.screenshot({ path: screenshot });
	const missing = names.filter((n) => !text.includes(n));
	if (missing.length) {
		console.error('missing in the page: ' + missing.join(', '));
		console.error('page text:\n' + text);
	} else {
		console.log(`speedscope shows ${total} profiles, among them: ${names.join(', ')}`);
		ok = true;
	}
} finally {
	await browser.close();
	server.close();
	fs.rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
