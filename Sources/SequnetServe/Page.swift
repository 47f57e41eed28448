/// The page at `/`: plain HTML, CSS and JavaScript, no build step and
/// nothing fetched from elsewhere. Play fetches `/api/stream`, parses the
/// WAV body as it arrives and schedules it on Web Audio, back to back, at
/// 16 kHz. The counters it keeps are on `window.sequnetStats` (read by the
/// browser test):
///
/// - `secondsReceived`: audio received and scheduled;
/// - `underruns`: times playback ran dry before the next samples came;
/// - `bufferSeconds`: audio scheduled ahead of what is playing;
/// - `contextSeconds`: the audio clock (how long the page's audio has run);
/// - `playing`, `streamId`, `serverUnderruns` (this stream's, from `/api/info`), `error`.
enum Page {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sequnet serve</title>
<style>
  :root { --bg: #10141a; --panel: #1a2029; --text: #e6e9ee; --dim: #8b95a5; --accent: #f0a830; --good: #58c27d; --bad: #e5534b; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--text); }
  main { max-width: 980px; margin: 0 auto; padding: 24px; }
  h1 { font-size: 22px; margin: 0 0 4px; font-weight: 600; }
  h1 small { color: var(--dim); font-weight: 400; font-size: 14px; margin-left: 8px; }
  .panel { background: var(--panel); border-radius: 10px; padding: 16px; margin-top: 16px; }
  .controls { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-end; }
  label { display: flex; flex-direction: column; gap: 4px; color: var(--dim); font-size: 13px; }
  input { background: #0c1015; color: var(--text); border: 1px solid #2c3440; border-radius: 6px; padding: 7px 9px; font: inherit; width: 130px; }
  input[type=range] { width: 160px; padding: 0; }
  button { background: var(--accent); color: #1a1205; border: 0; border-radius: 8px; padding: 10px 26px; font: 600 16px system-ui, sans-serif; cursor: pointer; min-width: 110px; }
  button.stop { background: var(--bad); color: #fff; }
  button.small { background: #2c3440; color: var(--text); padding: 7px 10px; font-size: 13px; min-width: 0; }
  .meters { display: grid; grid-template-columns: repeat(6, 1fr); gap: 10px; }
  .meter { background: #0c1015; border-radius: 8px; padding: 10px 12px; }
  .meter .v { font: 600 22px ui-monospace, SFMono-Regular, Menlo, monospace; }
  .meter .k { color: var(--dim); font-size: 12px; }
  .bar { height: 4px; background: #2c3440; border-radius: 2px; margin-top: 6px; overflow: hidden; }
  .bar i { display: block; height: 100%; width: 0; background: var(--good); }
  canvas { width: 100%; height: 260px; display: block; border-radius: 8px; background: #000; }
  #wave { height: 70px; margin-top: 8px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; font-size: 13px; }
  dt { color: var(--dim); } dd { margin: 0; font-family: ui-monospace, Menlo, monospace; }
  #status { color: var(--dim); margin-left: auto; font-size: 13px; }
  .bad { color: var(--bad); }
</style>
</head>
<body>
<main>
  <h1>sequnet serve <small id="modelName">loading model facts...</small></h1>
  <div class="panel controls">
    <button id="play">Play</button>
    <label>seed <span style="display:flex;gap:6px"><input id="seed" type="number" min="0" step="1" value="1"><button class="small" id="dice" title="random seed">&#x2684;</button></span></label>
    <label>temperature <span id="tempShow">1.00</span><input id="temperature" type="range" min="0" max="1.5" step="0.01" value="1"></label>
    <label>min-p <input id="minp" type="number" min="0" max="1" step="0.01" value="0"></label>
    <span id="status">stopped</span>
  </div>
  <div class="panel meters">
    <div class="meter"><div class="v" id="mRtf">-</div><div class="k">real-time factor (server)</div></div>
    <div class="meter"><div class="v" id="mLoad">-</div><div class="k">generator load</div><div class="bar"><i id="bLoad"></i></div></div>
    <div class="meter"><div class="v" id="mBuffer">0.00 s</div><div class="k">buffer (scheduled ahead)</div><div class="bar"><i id="bBuffer"></i></div></div>
    <div class="meter"><div class="v" id="mReceived">0.0 s</div><div class="k">audio received</div></div>
    <div class="meter"><div class="v" id="mUnderruns">0</div><div class="k">underruns (page / server)</div></div>
    <div class="meter"><div class="v" id="mListeners">-</div><div class="k">listeners / batches</div></div>
  </div>
  <div class="panel">
    <canvas id="spectrogram" width="940" height="260"></canvas>
    <canvas id="wave" width="940" height="70"></canvas>
  </div>
  <div class="panel"><dl id="facts"></dl></div>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const RATE = 16000, HEADER = 44, PREBUFFER = 0.3, CHUNK = 2048;
const stats = window.sequnetStats = {
  playing: false, streamId: null, secondsReceived: 0, secondsScheduled: 0, bufferSeconds: 0,
  underruns: 0, serverUnderruns: 0, chunks: 0, error: null, contextSeconds: 0, audioState: null
};
let ctx = null, analyser = null, abort = null, nextTime = 0, started = false, info = null;

function fmt(n, d) { return Number(n).toFixed(d); }
function grouped(n) { return Number(n).toLocaleString("en-US"); }

async function loadInfo() {
  try {
    const r = await fetch("/api/info", { cache: "no-store" });
    info = await r.json();
    showInfo();
  } catch (e) { /* the server may be restarting */ }
}

function showInfo() {
  if (!info) return;
  const m = info.model || {}, hp = m.hyperparameters || {};
  $("modelName").textContent = `${m.architecture || "model"} \u00b7 ${grouped(m.parameters || 0)} parameters \u00b7 ${m.precision || ""}`;
  const facts = [
    ["model", m.path], ["architecture", m.architecture],
    ["hyper-parameters", Object.keys(hp).sort().map((k) => `${k} ${hp[k]}`).join(", ")],
    ["parameters", grouped(m.parameters || 0) + ` (${m.precision}, ${m.kernel_path} kernels)`],
    ["receptive field", `${grouped(m.receptive_field_samples || 0)} samples (${fmt(m.receptive_field_ms || 0, 1)} ms)`],
    ["input size", `${grouped(m.input_size || 0)} samples`],
    ["multiply-adds", `${grouped(Math.round(m.multiply_adds_per_sample || 0))} per sample`],
    ["server", `max ${info.limits.max_streams} listeners, ${info.limits.buffer_seconds} s buffer, ` +
               `join window ${info.limits.join_window_ms} ms, ${info.limits.threads} thread(s) per batch`],
  ];
  $("facts").innerHTML = "";
  for (const [k, v] of facts) {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v ?? "-";
    $("facts").append(dt, dd);
  }
  $("mRtf").textContent = info.real_time_factor > 0 ? fmt(info.real_time_factor, 1) + "x" : "-";
  $("mLoad").textContent = fmt(100 * Math.min(info.load, 1), 0) + " %";
  $("bLoad").style.width = fmt(100 * Math.min(info.load, 1), 0) + "%";
  $("mListeners").textContent = `${info.listeners} / ${info.batches.length}`;
  const mine = (info.streams || []).find((s) => String(s.id) === String(stats.streamId));
  if (mine) stats.serverUnderruns = mine.underruns;
}

function meters() {
  if (ctx && stats.playing) {
    stats.bufferSeconds = Math.max(0, nextTime - ctx.currentTime);
    stats.contextSeconds = ctx.currentTime;
    stats.audioState = ctx.state;
  }
  $("mBuffer").textContent = fmt(stats.bufferSeconds, 2) + " s";
  $("bBuffer").style.width = fmt(Math.min(100, 100 * stats.bufferSeconds / 2.5), 0) + "%";
  $("mReceived").textContent = fmt(stats.secondsReceived, 1) + " s";
  $("mUnderruns").textContent = `${stats.underruns} / ${stats.serverUnderruns}`;
  $("mUnderruns").className = "v" + (stats.underruns + stats.serverUnderruns > 0 ? " bad" : "");
}

// Plays one block of samples right after the previous one. Running dry
// (the next start time already past) is an underrun: start again a little ahead.
function schedule(samples) {
  const buffer = ctx.createBuffer(1, samples.length, RATE);
  buffer.copyToChannel(samples, 0);
  const source = ctx.createBufferSource();
  source.buffer = buffer;
  source.connect(analyser);
  const now = ctx.currentTime;
  if (!started) { nextTime = now + PREBUFFER; started = true; }
  else if (nextTime < now) { stats.underruns += 1; nextTime = now + 0.1; }
  source.start(nextTime);
  nextTime += samples.length / RATE;
  stats.secondsScheduled += samples.length / RATE;
  stats.chunks += 1;
}

async function play() {
  stop();
  stats.error = null; stats.secondsReceived = 0; stats.secondsScheduled = 0; stats.underruns = 0;
  stats.serverUnderruns = 0; stats.chunks = 0; stats.contextSeconds = 0; started = false;
  ctx = new AudioContext({ sampleRate: RATE });
  analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  analyser.smoothingTimeConstant = 0;
  analyser.connect(ctx.destination);
  if (ctx.state !== "running") { try { await ctx.resume(); } catch (e) {} }
  abort = new AbortController();
  const q = new URLSearchParams({ seed: $("seed").value || "0", temperature: $("temperature").value, min_p: $("minp").value || "0" });
  stats.playing = true;
  setButton();
  $("status").textContent = "connecting...";
  let response;
  try {
    response = await fetch("/api/stream?" + q, { signal: abort.signal, cache: "no-store" });
  } catch (e) { return failed(e); }
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error; } catch (e) {}
    return failed(new Error(`${response.status}: ${message}`));
  }
  stats.streamId = response.headers.get("X-Sequnet-Stream");
  $("status").textContent = `playing stream ${stats.streamId} (seed ${q.get("seed")}, temperature ${q.get("temperature")})`;
  const reader = response.body.getReader();
  let skip = HEADER, odd = null;
  let block = new Float32Array(CHUNK), filled = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let bytes = value;
      if (skip > 0) { const n = Math.min(skip, bytes.length); skip -= n; bytes = bytes.subarray(n); }
      if (odd !== null && bytes.length > 0) {
        const joined = new Uint8Array(bytes.length + 1); joined[0] = odd; joined.set(bytes, 1); bytes = joined; odd = null;
      }
      if (bytes.length % 2 === 1) { odd = bytes[bytes.length - 1]; bytes = bytes.subarray(0, bytes.length - 1); }
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      for (let i = 0; i < bytes.length; i += 2) {
        block[filled++] = view.getInt16(i, true) / 32768;
        if (filled === CHUNK) { schedule(block); block = new Float32Array(CHUNK); filled = 0; }
      }
      stats.secondsReceived += bytes.length / 2 / RATE;
      if (filled > 0 && stats.bufferSeconds < 0.15) { schedule(block.slice(0, filled)); filled = 0; }
    }
    if (filled > 0) schedule(block.slice(0, filled));
    $("status").textContent = `stream ${stats.streamId} ended`;
  } catch (e) {
    if (e.name !== "AbortError") return failed(e);
  }
}

function failed(e) {
  stats.error = String(e.message || e);
  stats.playing = false;
  $("status").innerHTML = "";
  const span = document.createElement("span"); span.className = "bad"; span.textContent = stats.error;
  $("status").append(span);
  setButton();
}

function stop() {
  if (abort) abort.abort();
  abort = null;
  if (ctx) ctx.close();
  ctx = null; analyser = null;
  if (stats.playing) $("status").textContent = "stopped";
  stats.playing = false; stats.bufferSeconds = 0;
  setButton();
}

function setButton() {
  $("play").textContent = stats.playing ? "Stop" : "Play";
  $("play").className = stats.playing ? "stop" : "";
}

// A scrolling spectrogram (log magnitude, 0 to 8 kHz bottom to top) and the waveform now playing.
const spec = $("spectrogram"), sg = spec.getContext("2d");
const wave = $("wave"), wg = wave.getContext("2d");
// Dark to bright: black, violet, red, orange, pale yellow.
const stops = [[0, 0, 0, 4], [0.3, 59, 15, 112], [0.55, 140, 41, 129], [0.75, 222, 73, 104], [0.9, 254, 159, 109], [1, 252, 253, 191]];
const palette = Array.from({ length: 256 }, (_, i) => {
  const t = i / 255;
  let k = 1;
  while (stops[k][0] < t) k++;
  const [t0, r0, g0, b0] = stops[k - 1], [t1, r1, g1, b1] = stops[k];
  const f = (t - t0) / (t1 - t0);
  return `rgb(${Math.round(r0 + f * (r1 - r0))},${Math.round(g0 + f * (g1 - g0))},${Math.round(b0 + f * (b1 - b0))})`;
});
sg.fillStyle = "#000"; sg.fillRect(0, 0, spec.width, spec.height);
function draw() {
  if (analyser && stats.playing) {
    const bins = new Uint8Array(analyser.frequencyBinCount);
    analyser.getByteFrequencyData(bins);
    const step = 2;
    sg.drawImage(spec, -step, 0);
    const h = spec.height, n = bins.length;
    for (let y = 0; y < h; y++) {
      const v = bins[Math.min(n - 1, Math.floor((h - 1 - y) * n / h))];
      sg.fillStyle = palette[v];
      sg.fillRect(spec.width - step, y, step, 1);
    }
    const samples = new Float32Array(analyser.fftSize);
    analyser.getFloatTimeDomainData(samples);
    wg.fillStyle = "#000"; wg.fillRect(0, 0, wave.width, wave.height);
    wg.strokeStyle = "#f0a830"; wg.beginPath();
    for (let i = 0; i < samples.length; i++) {
      const x = i * wave.width / samples.length, y = wave.height / 2 * (1 - samples[i]);
      i === 0 ? wg.moveTo(x, y) : wg.lineTo(x, y);
    }
    wg.stroke();
  }
  meters();
  requestAnimationFrame(draw);
}

$("play").addEventListener("click", () => (stats.playing ? stop() : play()));
$("dice").addEventListener("click", () => { $("seed").value = Math.floor(Math.random() * 1e6); });
$("temperature").addEventListener("input", () => { $("tempShow").textContent = fmt($("temperature").value, 2); });
requestAnimationFrame(draw);
setInterval(meters, 250);
setInterval(loadInfo, 500);
loadInfo();
</script>
</body>
</html>
"""#
}
