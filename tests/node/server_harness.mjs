// Starts the real gemma3n-server binary for the SDK tests (node --test) and stops it again.
// Needs a built server (GS_SERVER_BIN or build/bin/gemma3n-server) and a model with a tokenizer
// (GS_TEST_MODEL_DIR or models/demo); `skip` says why the tests cannot run when either is missing.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = process.env.GS_SERVER_BIN ?? join(repo, 'build', 'bin', 'gemma3n-server');
export const modelDir = process.env.GS_TEST_MODEL_DIR ?? join(repo, 'models', 'demo');
export const available = existsSync(bin) && existsSync(join(modelDir, 'tokenizer.json'));
export const skip = available ? false : `needs ${bin} and a model with tokenizer.json in ${modelDir}`;

async function waitFor(fn, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch { /* not up yet */ }
    if (Date.now() > until) throw new Error('timed out waiting for the server');
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Starts the server on a free loopback port with model id 'sdk-model' and the API key; resolves
// once /health is 200. Returns { client, port, stop }.
export async function startServer({ apiKey, extraArgs = [], timeoutMs = 120000 }) {
  const dir = mkdtempSync(join(tmpdir(), 'gs-sdk-'));
  const portFile = join(dir, 'port');
  const proc = spawn(bin, ['--model', modelDir, '--model-name', 'sdk-model', '--port', '0', '--port-file', portFile,
    '--api-key', apiKey, ...extraArgs], { stdio: ['ignore', 'inherit', 'inherit'] });
  const port = await waitFor(() => existsSync(portFile) && Number(readFileSync(portFile, 'utf8').trim()), 20000);
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, 60000);
  const client = new OpenAI({ apiKey, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0, timeout: timeoutMs });
  const stop = async () => {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
  };
  return { client, port, stop };
}
