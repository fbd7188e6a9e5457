// The official OpenAI SDK against the real gemma3n-server binary (node --test).
// Needs a built server (GS_SERVER_BIN or build/bin/gemma3n-server) and a model with a tokenizer
// (GS_TEST_MODEL_DIR or models/demo); skips otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { available, skip, startServer } from './server_harness.mjs';

const API_KEY = 'sdk-test-key';

let server;
let client;


before(async () => {
  if (!available) return;
  server = await startServer({ apiKey: API_KEY, extraArgs: ['--cors-origin', '*'], timeoutMs: 60000 });
  client = server.client;
});

after(async () => {
  if (server) await server.stop();
});

test('models.list returns the configured model', { skip }, async () => {
  const page = await client.models.list();
  assert.equal(page.data[0].id, 'sdk-model');
  const one = await client.models.retrieve('sdk-model');
  assert.equal(one.object, 'model');
});

test('chat.completions.create (non-streaming)', { skip }, async () => {
  const r = await client.chat.completions.create({
    model: 'sdk-model', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4, temperature: 0,
  });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test('chat.completions.create (streaming, include_usage)', { skip }, async () => {
  const stream = await client.chat.completions.create({
    model: 'sdk-model', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4, stream: true,
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
});

test('completions.create', { skip }, async () => {
  const r = await client.completions.create({ model: 'sdk-model', prompt: 'Once', max_tokens: 2 });
  assert.equal(r.object, 'text_completion');
  assert.equal(typeof r.choices[0].text, 'string');
});

test('errors map to the SDK exception classes', { skip }, async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'sdk-model', messages: [{ role: 'user', content: 'x' }], temperature: 5 }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'temperature');
  await assert.rejects(
    client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
  const bad = new OpenAI({ apiKey: 'wrong', baseURL: client.baseURL, maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
});
