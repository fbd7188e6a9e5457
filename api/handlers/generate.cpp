#include "api/handlers/generate.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <random>

#include "api/stream/generation_collector.h"

namespace gs::api {

std::string make_response_id(const std::string& prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string id = prefix;
  for (int i = 0; i < 24; ++i) id += hex[rng() & 15];
  return id;
}

std::vector<std::string> public_model_ids(const Services& s, const Backend& b) {
  std::vector<std::string> ids;
  if (!s.settings().model_name.empty()) ids.push_back(s.settings().model_name);
  for (const auto& m : b.engine->models())
    if (!m.id.empty() && std::find(ids.begin(), ids.end(), m.id) == ids.end()) ids.push_back(m.id);
  return ids;
}

Result<ResolvedModel> resolve_model(const Services& s, const Backend& b, const std::string& requested) {
  const std::string& name = s.settings().model_name;
  if (requested.empty() || requested == name) return ResolvedModel{"", name};
  const auto models = b.engine->models();
  if (!models.empty() && models.front().id == requested) return ResolvedModel{"", requested};
  for (const auto& m : models)
    if (m.id == requested) return ResolvedModel{requested, requested};
  ApiError e = not_found("The model '" + requested + "' does not exist", "model_not_found");
  e.param = "model";
  return e;
}

ApiError not_ready_error(const Services& s) {
  const std::string err = s.load_error();
  if (!err.empty()) return unavailable("the model failed to load: " + err, 30);
  return unavailable("the model is still loading", 2);
}

namespace {

// Optional latency budget (extension): headers x-latency-budget-ttft-ms / -total-ms, in ms. The
// engine uses it to pick the largest MatFormer size that meets it.
std::optional<ApiError> read_budget(const Request& req, runtime::LatencyBudget& out) {
  for (const char* name : {"x-latency-budget-ttft-ms", "x-latency-budget-total-ms"}) {
    const std::string* v = req.header(name);
    if (!v) continue;
    char* end = nullptr;
    const double ms = std::strtod(v->c_str(), &end);
    if (v->empty() || end != v->c_str() + v->size() || !(ms > 0 && ms < 1e9))
      return bad_request(std::string("header ") + name + " must be a positive number of milliseconds", name, "invalid_value");
    (std::string(name).find("ttft") != std::string::npos ? out.ttft_s : out.total_s) = ms / 1000.0;
  }
  return std::nullopt;
}

}  // namespace

Response start_generation(Services& s, const Backend& b, const Request& req, GenerationJob job) {
  const GenerationOptions& o = job.options;
  runtime::LatencyBudget budget = o.budget;  // body field; the headers override it
  if (auto e = read_budget(req, budget)) return error_response(*e);
  const int max_tokens = std::min(o.max_tokens.value_or(s.settings().default_max_tokens), s.settings().limits.max_tokens_cap);
  // With a budget the engine picks the MatFormer size now; the response names it.
  bool budget_met = true;
  if (budget.ttft_s || budget.total_s) {
    runtime::GenerationRequest probe;
    probe.prompt = job.prompt;
    probe.max_tokens = max_tokens;
    probe.model = job.engine_model;
    probe.budget = budget;
    auto ch = b.engine->choose_size(probe);
    if (!ch) return error_response(from_runtime_error(ch.error()));
    const auto models = b.engine->models();
    if (models.empty() || ch->id != models.front().id) {
      job.engine_model = ch->id;
      job.public_model = ch->id;
    }
    budget_met = ch->meets_budget;
  }
  GenerationPlan plan;
  plan.header = {job.wire, make_response_id(job.wire == WireKind::kChat ? "chatcmpl-" : "cmpl-"),
                 static_cast<int64_t>(std::time(nullptr)), job.public_model};
  plan.stream = o.stream;
  plan.include_usage = o.stream && o.include_usage;
  plan.n = o.n;
  plan.stop = o.stop;
  plan.logprobs = o.sampling.logprobs;
  plan.top_logprobs = o.sampling.top_logprobs;
  plan.prompt_tokens = static_cast<int>(job.prompt.size());
  for (const auto& m : job.media)
    (m.kind == runtime::MediaInput::Kind::kImage ? plan.image_tokens : plan.audio_tokens) += b.engine->media_tokens(m.kind);
  {
    std::lock_guard lk(req.log->mu);
    req.log->model = job.public_model;
    req.log->prompt_tokens = plan.prompt_tokens;
  }
  auto collector = std::make_shared<GenerationCollector>(plan, b.codec, &s.metrics(), req.log);
  for (int i = 0; i < o.n; ++i) {
    runtime::GenerationRequest g;
    g.prompt = job.prompt;
    g.media = job.media;
    g.sampling = o.sampling;
    // n > 1 with a seed: distinct but reproducible streams.
    if (g.sampling.seed && i > 0) g.sampling.seed = *g.sampling.seed + static_cast<uint64_t>(i);
    g.max_tokens = max_tokens;
    g.stop_tokens = b.codec->stop_token_ids();
    g.model = job.engine_model;
    g.budget = budget;
    g.sink = collector->sink_for(i);
    auto h = b.engine->submit(std::move(g));
    if (!h) {
      collector->abort();
      return error_response(from_runtime_error(h.error()));
    }
    collector->set_handle(i, *h);
  }
  Response r;
  r.headers.emplace_back("x-gemma3n-size", job.public_model);
  if (budget.ttft_s || budget.total_s) r.headers.emplace_back("x-gemma3n-budget-met", budget_met ? "true" : "false");
  // weak: the channel is owned by the collector; a strong capture would be a cycle.
  std::weak_ptr<GenerationCollector> weak = collector;
  auto cancel = [weak] {
    if (auto c = weak.lock()) c->abort();
  };
  if (plan.stream) {
    r.stream = collector->channel();
    r.stream->set_cancel(cancel);
  } else {
    r.pending = collector->pending();
    r.pending->set_cancel(cancel);
  }
  return r;
}

}  // namespace gs::api
