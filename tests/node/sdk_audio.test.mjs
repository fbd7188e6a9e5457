// The official OpenAI SDK's audio endpoints against the real gemma3n-server binary (node --test):
// audio.transcriptions.create in json / text / verbose_json / stream, and audio.translations.create.
// The WAV files are generated here. Needs a built server (GS_SERVER_BIN or build/bin/gemma3n-server)
// and a model with a tokenizer (GS_TEST_MODEL_DIR or models/demo); skips otherwise, like
// openai_sdk.test.mjs. The demo model has random weights: only shapes are checked, not words.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';
import { available, skip, startServer } from './server_harness.mjs';

const API_KEY = 'sdk-audio-key';

let server;
let client;


// 16-bit PCM mono WAV: a 440 Hz tone, silent between the [from, to) second ranges in `gaps`.
function wav(seconds, gaps = [], rate = 16000) {
  const n = Math.round(seconds * rate);
  const buf = Buffer.alloc(44 + 2 * n);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + 2 * n, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);           // PCM
  buf.writeUInt16LE(1, 22);           // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(2 * n, 40);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    const silent = gaps.some(([a, b]) => t >= a && t < b);
    buf.writeInt16LE(silent ? 0 : Math.round(12000 * Math.sin(2 * Math.PI * 440 * t)), 44 + 2 * i);
  }
  return buf;
}

before(async () => {
  if (!available) return;
  server = await startServer({ apiKey: API_KEY, timeoutMs: 120000 });
  client = server.client;
});

after(async () => {
  if (server) await server.stop();
});

test('transcriptions.create: json (default) gives a text string', { skip }, async () => {
  const r = await client.audio.transcriptions.create({
    file: await toFile(wav(2), 'tone.wav', { type: 'audio/wav' }), model: 'whisper-1',
  });
  assert.equal(typeof r.text, 'string');
  assert.equal(r.usage.type, 'tokens');
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
});

test('transcriptions.create: text format returns a plain string', { skip }, async () => {
  const r = await client.audio.transcriptions.create({
    file: await toFile(wav(1.5), 'tone.wav'), model: 'sdk-model', response_format: 'text',
  });
  assert.equal(typeof r, 'string');
});

test('transcriptions.create: verbose_json has contiguous timed segments', { skip }, async () => {
  // Clips are at most 30 s, or shorter when the model has fewer audio slots (the demo model: ~2.4 s).
  const r = await client.audio.transcriptions.create({
    file: await toFile(wav(8, [[2, 2.4]]), 'gap.wav'), model: 'sdk-model', response_format: 'verbose_json',
    timestamp_granularities: ['segment'], language: 'en',
  });
  assert.equal(r.task, 'transcribe');
  assert.equal(r.language, 'english');
  assert.equal(r.duration, 8);
  assert.equal(typeof r.text, 'string');
  assert.ok(r.segments.length >= 1);
  assert.equal(r.segments[0].start, 0);
  assert.equal(r.segments.at(-1).end, 8);
  r.segments.forEach((s, i) => {
    assert.equal(s.id, i);
    if (i > 0) assert.equal(s.start, r.segments[i - 1].end);
    assert.ok(s.end - s.start <= 30);
    assert.equal(typeof s.text, 'string');
    assert.ok(Array.isArray(s.tokens));
    assert.ok(s.avg_logprob <= 0);
    for (const k of ['seek', 'temperature', 'compression_ratio', 'no_speech_prob']) assert.equal(typeof s[k], 'number');
  });
  assert.equal(r.usage.type, 'duration');
});

test('transcriptions.create: stream yields deltas then done', { skip }, async () => {
  const stream = await client.audio.transcriptions.create({
    file: await toFile(wav(2), 'tone.wav'), model: 'sdk-model', stream: true,
  });
  let deltas = '';
  let done = null;
  for await (const ev of stream) {
    if (ev.type === 'transcript.text.delta') deltas += ev.delta;
    else if (ev.type === 'transcript.text.done') done = ev;
  }
  assert.ok(done, 'no transcript.text.done event');
  assert.equal(deltas, done.text);
});

test('translations.create: json and verbose_json', { skip }, async () => {
  const r = await client.audio.translations.create({ file: await toFile(wav(2), 'tone.wav'), model: 'whisper-1' });
  assert.equal(typeof r.text, 'string');
  const v = await client.audio.translations.create({
    file: await toFile(wav(2), 'tone.wav'), model: 'whisper-1', response_format: 'verbose_json',
  });
  assert.equal(v.task, 'translate');
  assert.equal(v.segments.length, 1);
});

test('a bad upload is a BadRequestError naming the file', { skip }, async () => {
  await assert.rejects(
    client.audio.transcriptions.create({ file: await toFile(Buffer.from('not audio'), 'x.wav'), model: 'sdk-model' }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'file');
});
