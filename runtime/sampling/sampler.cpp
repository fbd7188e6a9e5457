#include "runtime/sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace gs::runtime {
namespace {

int32_t argmax(std::span<const float> v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Sorts the first `n` best candidates (descending prob) to the front.
void partial_sort_desc(std::vector<std::pair<float, int32_t>>& c, size_t n) {
  n = std::min(n, c.size());
  auto desc = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  if (n < c.size()) std::nth_element(c.begin(), c.begin() + static_cast<ptrdiff_t>(n), c.end(), desc);
  std::sort(c.begin(), c.begin() + static_cast<ptrdiff_t>(n), desc);
}

}  // namespace

TokenLogprobs compute_logprobs(std::span<const float> logits, int32_t token, int k) {
  TokenLogprobs out;
  out.token = token;
  if (logits.empty()) return out;
  const float mx = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - mx);
  const double lse = mx + std::log(sum);
  if (token >= 0 && static_cast<size_t>(token) < logits.size())
    out.logprob = static_cast<float>(logits[static_cast<size_t>(token)] - lse);
  if (k > 0) {
    std::vector<std::pair<float, int32_t>> c(logits.size());
    for (size_t i = 0; i < logits.size(); ++i) c[i] = {logits[i], static_cast<int32_t>(i)};
    partial_sort_desc(c, static_cast<size_t>(k));
    const size_t n = std::min(c.size(), static_cast<size_t>(k));
    for (size_t i = 0; i < n; ++i) out.top.emplace_back(c[i].second, static_cast<float>(c[i].first - lse));
  }
  return out;
}

Sampler::Sampler(const SamplingParams& params, int vocab)
    : params_(params), vocab_(vocab), rng_(params.seed ? *params.seed : std::random_device{}()) {}

void Sampler::apply_penalties(std::span<const int32_t> history) {
  const bool rep = params_.repetition_penalty != 1.0f && params_.repetition_penalty > 0.f;
  const bool pres = params_.presence_penalty != 0.f || params_.frequency_penalty != 0.f;
  if (history.empty() || (!rep && !pres)) return;
  std::unordered_map<int32_t, int> counts;
  for (int32_t t : history)
    if (t >= 0 && t < vocab_) ++counts[t];
  for (const auto& [t, n] : counts) {
    float& x = work_[static_cast<size_t>(t)];
    // CTRL-style repetition penalty: always moves the logit towards "less likely".
    if (rep) x = x > 0 ? x / params_.repetition_penalty : x * params_.repetition_penalty;
    // OpenAI's additive penalties.
    if (pres) x -= params_.frequency_penalty * static_cast<float>(n) + params_.presence_penalty;
  }
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history, TokenLogprobs* out) {
  const size_t v = std::min(logits.size(), static_cast<size_t>(vocab_));
  work_.assign(logits.begin(), logits.begin() + static_cast<ptrdiff_t>(v));
  apply_penalties(history);

  int32_t chosen;
  if (params_.temperature <= 0.f || params_.top_k == 1) {
    chosen = argmax(work_);
  } else {
    const float inv_t = 1.0f / params_.temperature;
    const float mx = *std::max_element(work_.begin(), work_.end());
    cand_.resize(v);
    for (size_t i = 0; i < v; ++i)
      cand_[i] = {std::exp((work_[i] - mx) * inv_t), static_cast<int32_t>(i)};
    chosen = pick_from_filtered();
  }
  if (out && (params_.logprobs || params_.top_logprobs > 0))
    *out = compute_logprobs(logits.first(v), chosen, params_.top_logprobs);
  else if (out)
    out->token = chosen;
  return chosen;
}

// cand_ holds unnormalised probabilities; applies top-k, min-p, top-p, then draws.
int32_t Sampler::pick_from_filtered() {
  size_t n = cand_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    partial_sort_desc(cand_, static_cast<size_t>(params_.top_k));
    n = static_cast<size_t>(params_.top_k);
    cand_.resize(n);
  }
  if (params_.min_p > 0.f) {
    float pmax = 0;
    for (const auto& c : cand_) pmax = std::max(pmax, c.first);
    const float floor = params_.min_p * pmax;
    std::erase_if(cand_, [&](const auto& c) { return c.first < floor; });
  }
  if (params_.top_p < 1.0f) {
    double total = 0;
    for (const auto& c : cand_) total += c.first;
    // Most of the mass usually sits in a few hundred tokens: sort those first, all only if needed.
    size_t sorted = std::min<size_t>(256, cand_.size());
    partial_sort_desc(cand_, sorted);
    double acc = 0;
    size_t keep = 0;
    for (;;) {
      for (; keep < sorted; ++keep) {
        acc += cand_[keep].first;
        if (acc >= params_.top_p * total) break;
      }
      if (keep < sorted || sorted == cand_.size()) break;
      sorted = cand_.size();
      std::sort(cand_.begin() + static_cast<ptrdiff_t>(keep), cand_.end(),
                [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
    }
    cand_.resize(std::min(keep + 1, cand_.size()));
  }
  double total = 0;
  for (const auto& c : cand_) total += c.first;
  if (cand_.empty() || !(total > 0)) return argmax(work_);
  double r = std::uniform_real_distribution<double>(0.0, total)(rng_);
  for (const auto& c : cand_) {
    r -= c.first;
    if (r < 0) return c.second;
  }
  return cand_.back().second;
}

}  // namespace gs::runtime
