// gemma3n-cli bench: llama-bench-style throughput. ppP = prefill of P tokens in one pass;
// tgN = N decode steps from an empty context; with --parallel K, K sequences decode together
// (aggregate tokens/s). A warm-up run, then --reps repetitions; medians are reported. After the
// decode test: the weight bytes one step read (counted by the matmuls) and, from a read of a
// buffer larger than the caches on the same threads, the share of the bandwidth roofline reached.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "cli/bandwidth_probe.h"
#include "cli/commands.h"
#include "cli/model_options.h"

namespace gs::cli {
namespace {

using Clock = std::chrono::steady_clock;
using runtime::gemma3n::StepBatch;
using runtime::gemma3n::StepOutput;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<int64_t>(ru.ru_maxrss) * 1024;
}

std::vector<int32_t> random_prompt(int n, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> d(3, std::max(4, vocab - 1));
  std::vector<int32_t> ids(static_cast<size_t>(n));
  ids[0] = 2;
  for (int i = 1; i < n; ++i) ids[i] = d(rng);
  return ids;
}

// Seconds for one prefill of `ids` (chunks of `chunk`), logits for the last row only.
double time_prefill(const LoadedModel& lm, const std::vector<int32_t>& ids, int chunk) {
  auto kv = lm.model->new_sequence(lm.plan);
  runtime::SequenceKv* kvs[] = {kv.get()};
  const auto t0 = Clock::now();
  for (size_t b0 = 0; b0 < ids.size(); b0 += static_cast<size_t>(chunk)) {
    StepBatch b;
    const size_t b1 = std::min(ids.size(), b0 + static_cast<size_t>(chunk));
    for (size_t i = b0; i < b1; ++i) b.add(ids[i], static_cast<int32_t>(i), 0, i + 1 == ids.size());
    StepOutput out;
    if (!lm.model->forward(b, lm.plan, kvs, &out).ok()) return -1;
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Seconds for `steps` decode steps of `parallel` sequences together (greedy; the first from BOS,
// the others from random tokens).
double time_decode(const LoadedModel& lm, int steps, int parallel) {
  const int V = lm.model->text_config().vocab_size;
  std::vector<std::unique_ptr<runtime::SequenceKv>> kv;
  std::vector<runtime::SequenceKv*> kvs;
  for (int s = 0; s < parallel; ++s) {
    kv.push_back(lm.model->new_sequence(lm.plan));
    kvs.push_back(kv.back().get());
  }
  // Each sequence starts from its own token so that they diverge: identical sequences would share
  // their sparse layers' active neurons and understate what K streams read.
  std::vector<int32_t> next = random_prompt(parallel, std::min(V, lm.model->text_config().vocab_size_per_layer_input), 7);
  const auto t0 = Clock::now();
  for (int i = 0; i < steps; ++i) {
    StepBatch b;
    for (int s = 0; s < parallel; ++s) b.add(next[s], kvs[s]->length(), s, true);
    StepOutput out;
    if (!lm.model->forward(b, lm.plan, kvs, &out).ok()) return -1;
    for (int s = 0; s < parallel; ++s) {
      const float* row = out.logits.data() + static_cast<size_t>(s) * V;
      next[s] = static_cast<int32_t>(std::max_element(row, row + V) - row);
    }
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int cmd_bench(int argc, char** argv) {
  CLI::App app{"Prefill and decode throughput (llama-bench protocol: warm-up, repetitions, medians)"};
  ModelOptions mo;
  int p = 512, n = 128, reps = 3, parallel = 1, chunk = 256;  // chunk: the engine default
  int probe_mb = 512;
  bool json = false;
  add_model_options(app, &mo);
  app.add_option("-p,--n-prompt", p, "prompt tokens for the prefill test (0: skip)")->capture_default_str();
  app.add_option("-n,--n-gen", n, "decode steps for the generation test (0: skip)")->capture_default_str();
  app.add_option("-r,--reps", reps, "repetitions")->capture_default_str();
  app.add_option("--parallel", parallel, "sequences decoded together")->capture_default_str();
  app.add_option("--chunk", chunk, "prefill chunk size")->capture_default_str();
  app.add_option("--probe-mb", probe_mb, "buffer of the read-bandwidth probe after the decode test (0: skip)")
      ->capture_default_str();
  app.add_flag("--json", json, "print one JSON line");
  CLI11_PARSE(app, argc, argv);
  auto lm = load_model(mo);
  if (!lm) return 1;
  const int V = lm->model->text_config().vocab_size;
  const int64_t rss_loaded = peak_rss_bytes();

  std::vector<double> pp, tg;
  if (p > 0) {
    const auto ids = random_prompt(p, std::min(V, lm->model->text_config().vocab_size_per_layer_input), 1);
    time_prefill(*lm, std::vector<int32_t>(ids.begin(), ids.begin() + std::min(p, 16)), chunk);  // warm-up
    for (int r = 0; r < reps; ++r) pp.push_back(p / time_prefill(*lm, ids, chunk));
  }
  double step_bytes = 0;  // weight bytes per decode step
  if (n > 0) {
    time_decode(*lm, std::min(n, 4), parallel);  // warm-up
    const uint64_t b0 = lm->ctx->weight_bytes();
    for (int r = 0; r < reps; ++r) tg.push_back(static_cast<double>(n) * parallel / time_decode(*lm, n, parallel));
    step_bytes = static_cast<double>(lm->ctx->weight_bytes() - b0) / (static_cast<double>(n) * reps);
  }
  const double pp_med = median(pp), tg_med = median(tg);
  const int64_t peak_rss = peak_rss_bytes();  // before the probe's buffer
  BandwidthProbe bw;
  if (n > 0 && probe_mb > 0) bw = probe_read_bandwidth(*lm->ctx, static_cast<size_t>(probe_mb) << 20, 5);
  const double traffic_gbs = step_bytes * tg_med / parallel / 1e9;
  const char* fmt = runtime::weight_format_name(lm->model->format());
  const int threads = lm->ctx->num_threads();
  if (json) {
    std::printf("{\"model\":\"%s\",\"slice\":\"%s\",\"weights\":\"%s\",\"threads\":%d,\"n_prompt\":%d,\"n_gen\":%d,"
                "\"parallel\":%d,\"reps\":%d,\"prefill_tokens_per_s\":%.3f,\"decode_tokens_per_s\":%.3f,"
                "\"peak_rss_bytes\":%lld,\"rss_after_load_bytes\":%lld,\"decode_weight_bytes_per_step\":%.0f,"
                "\"decode_weight_gbs\":%.3f,\"read_bandwidth_best_gbs\":%.3f,\"read_bandwidth_median_gbs\":%.3f}\n",
                mo.model_dir.c_str(), lm->plan.name.c_str(), fmt, threads, p, n, parallel, reps, pp_med, tg_med,
                static_cast<long long>(peak_rss), static_cast<long long>(rss_loaded), step_bytes, traffic_gbs,
                bw.best_gbs, bw.median_gbs);
    return 0;
  }
  std::printf("| model | slice | weights | threads | test | t/s (median of %d) |\n|---|---|---|---:|---|---:|\n", reps);
  if (p > 0)
    std::printf("| %s | %s | %s | %d | pp%d | %.2f |\n", mo.model_dir.c_str(), lm->plan.name.c_str(), fmt, threads, p, pp_med);
  if (n > 0)
    std::printf("| %s | %s | %s | %d | tg%d%s | %.2f |\n", mo.model_dir.c_str(), lm->plan.name.c_str(), fmt, threads, n,
                parallel > 1 ? (" x" + std::to_string(parallel)).c_str() : "", tg_med);
  std::printf("peak RSS: %.2f GiB\n", static_cast<double>(peak_rss) / (1 << 30));
  if (n > 0) {
    std::printf("decode weight traffic: %.3f GB per step, %.1f GB/s at the median rate\n", step_bytes / 1e9, traffic_gbs);
    if (bw.best_gbs > 0)
      std::printf("read bandwidth (%d threads, %d MiB): best %.1f GB/s, median %.1f -> decode at %.0f %% of the "
                  "roofline (%.0f %% of the median)\n",
                  threads, probe_mb, bw.best_gbs, bw.median_gbs, 100 * traffic_gbs / bw.best_gbs,
                  100 * traffic_gbs / bw.median_gbs);
  }
  return 0;
}

}  // namespace gs::cli
