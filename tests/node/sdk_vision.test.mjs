// The official OpenAI SDK sending images (image_url data: URLs) to the real gemma3n-server binary
// (node --test). The PNG is written here at test time (node:zlib for the deflate stream).
// Needs a built server (GS_SERVER_BIN or build/bin/gemma3n-server) and a model with a tokenizer
// (GS_TEST_MODEL_DIR or models/demo); skips otherwise, exactly like openai_sdk.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import OpenAI from 'openai';
import { available, skip, startServer } from './server_harness.mjs';

const API_KEY = 'sdk-vision-key';

let server;
let client;


const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
// w x h 8-bit RGB PNG; pixel(x, y) -> [r, g, b].
function makePng(w, h, pixel) {
  const raw = Buffer.alloc(h * (1 + 3 * w));
  for (let y = 0; y < h; y++) {
    raw[y * (1 + 3 * w)] = 0;  // filter: none
    for (let x = 0; x < w; x++) raw.set(pixel(x, y), y * (1 + 3 * w) + 1 + 3 * x);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
const quadrants = (w, h) => makePng(w, h, (x, y) =>
  (y < h / 2 ? (x < w / 2 ? [255, 0, 0] : [0, 255, 0]) : (x < w / 2 ? [0, 0, 255] : [255, 255, 255])));
const dataUrl = (png) => `data:image/png;base64,${png.toString('base64')}`;
const imageMessage = (...urls) => [{
  role: 'user',
  content: [{ type: 'text', text: 'What is in this picture?' },
    ...urls.map((url) => ({ type: 'image_url', image_url: { url } }))],
}];

before(async () => {
  if (!available) return;
  server = await startServer({ apiKey: API_KEY, timeoutMs: 120000 });
  client = server.client;
});

after(async () => {
  if (server) await server.stop();
});

test('the generated PNG is well formed', () => {
  const png = quadrants(4, 2);
  assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
  assert.equal(crc32(Buffer.from('IEND', 'ascii')), 0xae426082);  // the CRC every PNG ends with
});

test('chat with one image (non-streaming)', { skip }, async () => {
  const r = await client.chat.completions.create({
    model: 'sdk-model', messages: imageMessage(dataUrl(quadrants(32, 24))), max_tokens: 4, temperature: 0,
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  const imageTokens = r.usage.prompt_tokens_details?.image_tokens;
  if (imageTokens !== undefined) {
    assert.ok(imageTokens > 0, `image_tokens ${imageTokens}`);
    assert.ok(r.usage.prompt_tokens > imageTokens);
  }
});

test('two images count twice', { skip }, async () => {
  const one = await client.chat.completions.create({
    model: 'sdk-model', messages: imageMessage(dataUrl(quadrants(16, 16))), max_tokens: 1,
  });
  const two = await client.chat.completions.create({
    model: 'sdk-model', messages: imageMessage(dataUrl(quadrants(16, 16)), dataUrl(quadrants(20, 10))), max_tokens: 1,
  });
  const per = one.usage.prompt_tokens_details?.image_tokens;
  if (per !== undefined) assert.equal(two.usage.prompt_tokens_details.image_tokens, 2 * per);
  assert.ok(two.usage.prompt_tokens > one.usage.prompt_tokens);
});

test('chat with an image (streaming, include_usage)', { skip }, async () => {
  const stream = await client.chat.completions.create({
    model: 'sdk-model', messages: imageMessage(dataUrl(quadrants(24, 24))), max_tokens: 4, stream: true,
    stream_options: { include_usage: true },
  });
  let usage = null;
  let finish = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) if (c.finish_reason) finish = c.finish_reason;
  }
  assert.ok(chunks >= 2);
  assert.ok(['stop', 'length'].includes(finish));
  assert.ok(usage && usage.completion_tokens <= 4);
  if (usage.prompt_tokens_details?.image_tokens !== undefined) assert.ok(usage.prompt_tokens_details.image_tokens > 0);
});

test('remote image URLs are refused by default', { skip }, async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'sdk-model', messages: imageMessage('https://example.com/cat.png'), max_tokens: 1,
    }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 &&
      e.param === 'messages[0].content[1].image_url.url' && /--image-fetch on/.test(e.message));
});

test('broken image data is a BadRequestError naming the part', { skip }, async () => {
  const png = quadrants(16, 16);
  await assert.rejects(
    client.chat.completions.create({
      model: 'sdk-model', messages: imageMessage(dataUrl(png), dataUrl(png.subarray(0, 40))), max_tokens: 1,
    }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages[0].content[2].image_url.url');
});
