// The engine thread: admits requests, plans each step (step_planner), runs the text model over the
// flat batch, samples, and reports events. All sequence and KV state lives on this thread.
#include "runtime/engine/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "runtime/engine/cost_model.h"
#include "runtime/engine/sequence.h"
#include "runtime/engine/step_planner.h"
#include "runtime/models/gemma3n/matformer_presets.h"
#include "runtime/models/gemma3n/text_model.h"

namespace gs::runtime {
namespace {

double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

class EngineImpl final : public Engine {
 public:
  explicit EngineImpl(const EngineOptions& o) : opts_(o), ctx_(o.threads) {
    gemma3n::TextModelOptions mo;
    mo.max_context = o.max_context;
    mo.convert_cache_dir = o.convert_cache_dir;
    mo.ple.cache_bytes = static_cast<size_t>(std::max<int64_t>(o.ple_cache_bytes, 0));
    if (o.weights != "auto") {
      mo.format_auto = false;
      if (!parse_weight_format(o.weights, &mo.format)) throw LoadError("unknown weight format '" + o.weights + "'");
    }
    auto m = gemma3n::TextModel::load(o.model_dir, mo, ctx_);
    if (!m.ok()) throw LoadError(m.error().message);
    model_ = std::move(m).value();
    model_id_ = o.model_id.empty() ? std::filesystem::path(o.model_dir).lexically_normal().filename().string()
                                   : o.model_id;
    if (model_id_.empty()) model_id_ = "gemma-3n";
    plans_.emplace(model_id_, model_->full());
    for (const auto& s : gemma3n::applicable_presets(model_->text_config(), gemma3n::default_presets_path())) {
      auto p = gemma3n::slice_plan(model_->text_config(), s);
      if (p.ok() && !p->is_full_model) plans_.emplace(model_id_ + ":" + s.name, std::move(p).value());
    }
    for (const auto& file : o.custom_slices) {
      auto spec = gemma3n::resolve_slice(file, model_->text_config());
      if (!spec.ok()) throw LoadError(spec.error().message);
      auto p = gemma3n::slice_plan(model_->text_config(), *spec);
      if (!p.ok()) throw LoadError(p.error().message);
      plans_.insert_or_assign(model_id_ + ":" + spec->name, std::move(p).value());
    }
    default_id_ = model_id_;
    if (!o.default_size.empty()) {
      if (!plans_.count(o.default_size) && !plans_.count(model_id_ + ":" + o.default_size))
        throw LoadError("unknown default size '" + o.default_size + "'");
      default_id_ = plans_.count(o.default_size) ? o.default_size : model_id_ + ":" + o.default_size;
    }
    weights_bytes_ = static_cast<int64_t>(model_->weights().resident_bytes);
    media_ = std::make_unique<MediaRuntime>(model_->store(), model_->config(), o.model_dir, ctx_, o.media);
    calibrate();
    thread_ = std::thread([this] { loop(); });
    media_thread_ = std::thread([this] { media_loop(); });
  }

  ~EngineImpl() override { shutdown(0); }

  Expected<RequestHandle> submit(GenerationRequest req) override {
    const auto& c = model_->text_config();
    if (req.prompt.empty()) return make_error(ErrorCode::kInvalidArgument, "the prompt is empty");
    for (int32_t t : req.prompt)
      if (t < 0 || t >= c.vocab_size) return make_error(ErrorCode::kInvalidArgument, "token id out of range");
    if (req.max_tokens < 1) return make_error(ErrorCode::kInvalidArgument, "max_tokens must be at least 1");
    const int limit = std::min(opts_.max_context, c.max_position_embeddings);
    if (static_cast<int>(req.prompt.size()) >= limit)
      return make_error(ErrorCode::kInvalidArgument, "the prompt has " + std::to_string(req.prompt.size()) +
                                                         " tokens; this model's context is " + std::to_string(limit));
    if (auto st = check_media(req); !st.ok()) return st.error();
    std::string id;
    if (resolve_model(req.model, &id) == nullptr)
      return make_error(ErrorCode::kNotFound, "The model '" + req.model + "' does not exist");
    auto choice = choose_size(req);
    if (!choice.ok()) return choice.error();
    id = choice->id;
    const bool budget_met = choice->meets_budget;
    if (opts_.memory_budget_bytes > 0) {
      const int64_t need = kv_bytes_for(plans_.at(id), static_cast<int>(req.prompt.size()) + req.max_tokens);
      if (weights_bytes_ + need > opts_.memory_budget_bytes)
        return make_error(ErrorCode::kResourceExhausted,
                          "this request needs " + std::to_string(need >> 20) + " MiB of KV cache, more than the memory "
                          "budget leaves beside the weights; lower max_tokens or raise --memory-budget");
    }
    auto seq = std::make_unique<Sequence>();
    seq->budget_met = budget_met;
    seq->cancelled = std::make_shared<std::atomic<bool>>(false);
    RequestHandle h(seq->cancelled);
    seq->req = std::move(req);
    seq->model_id = id;
    seq->submitted = Clock::now();
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopping_) return make_error(ErrorCode::kUnavailable, "the server is shutting down");
      if (queued_ >= opts_.max_queue)
        return make_error(ErrorCode::kResourceExhausted, "the request queue is full");
      seq->id = ++next_id_;
      pending_prompt_tokens_ += static_cast<int64_t>(seq->req.prompt.size());
      ++stats_.requests_by_size[seq->model_id];
      if (seq->req.media.empty()) {
        incoming_.push_back(std::move(seq));
      } else {
        media_queue_.push_back(std::move(seq));
        media_cv_.notify_one();
        return h;
      }
      ++stats_.requests_total;
      stats_.queue_depth = ++queued_;
    }
    cv_.notify_one();
    return h;
  }

  Expected<SizeChoice> choose_size(const GenerationRequest& req) const override {
    std::string id;
    if (resolve_model(req.model, &id) == nullptr)
      return make_error(ErrorCode::kNotFound, "The model '" + req.model + "' does not exist");
    SizeChoice ch{id, true, 0, 0};
    if ((req.budget.ttft_s || req.budget.total_s) && (req.model.empty() || req.model == model_id_)) {
      std::lock_guard<std::mutex> lk(mu_);
      LoadSnapshot load{static_cast<int>(stats_.requests_active), pending_prompt_tokens_, opts_.prefill_chunk};
      std::vector<SizeOption> sizes;
      for (const auto& [pid, plan] : plans_)
        sizes.push_back({pid, gemma3n::plan_effective_params(model_->text_config(), plan)});
      ch = runtime::choose_size(cost_, sizes, req.budget, load, static_cast<int>(req.prompt.size()), req.max_tokens,
                                default_id_);
    }
    return ch;
  }

  std::vector<ModelInfo> models() const override {
    std::vector<ModelInfo> out;
    for (const auto& [id, plan] : plans_)
      out.push_back({id, gemma3n::plan_effective_params(model_->text_config(), plan), true});
    return out;
  }

  EngineStats stats() const override {
    std::lock_guard<std::mutex> lk(mu_);
    EngineStats s = stats_;
    const auto& w = model_->weights();
    s.groups.push_back({"text_core", w.params_core, static_cast<int64_t>(w.resident_bytes), 0, "loaded"});
    s.groups.push_back({"ple", w.ple->tensor().numel(), static_cast<int64_t>(w.ple->resident_bytes()),
                        static_cast<int64_t>(w.ple->mapped_bytes()), "mapped"});
    for (const auto& g : media_->states())
      s.groups.push_back({g.name, g.params, g.resident_bytes, g.mapped_bytes,
                          !g.allowed ? "disabled" : g.loaded ? "loaded" : "unloaded"});
    s.media = media_->states();
    const auto ps = w.ple->stats();
    s.ple_hits = ps.hits;
    s.ple_misses = ps.misses;
    s.ple_cached_bytes = static_cast<int64_t>(ps.cached_bytes);
    return s;
  }

  bool ready() const override { return true; }

  Expected<MediaInput> prepare_media(MediaInput::Kind kind, std::span<const uint8_t> bytes) const override {
    return media_->prepare(kind, bytes);
  }
  int media_tokens(MediaInput::Kind kind) const override {
    return media_->allowed(kind) ? media_->tokens_per_item(kind) : 0;
  }

  void shutdown(double deadline_s) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!thread_.joinable()) return;
      stopping_ = true;
      deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(deadline_s));
    }
    cv_.notify_all();
    media_cv_.notify_all();
    thread_.join();
    if (media_thread_.joinable()) media_thread_.join();
    // Whatever the media thread handed over after the loop ended still gets its final event.
    for (auto& s : incoming_) finish(*s, FinishInfo::Reason::kCancelled);
    incoming_.clear();
  }

 private:
  const gemma3n::LayerPlan* resolve_model(const std::string& name, std::string* id) const {
    std::string key = name.empty() ? default_id_ : name;
    if (name == model_id_ && default_id_ != model_id_) key = model_id_;
    auto it = plans_.find(key);
    if (it == plans_.end()) it = plans_.find(model_id_ + ":" + key);
    if (it == plans_.end()) return nullptr;
    *id = it->first;
    return &it->second;
  }

  // KV bytes a sequence of `tokens` positions needs under `plan`: sliding layers keep a window,
  // shared layers store nothing, full layers grow with the context.
  int64_t kv_bytes_for(const gemma3n::LayerPlan& plan, int tokens) const {
    const auto& c = model_->text_config();
    const int64_t row = 2 * static_cast<int64_t>(c.num_key_value_heads) * c.head_dim * sizeof(float);
    int64_t n = 0;
    for (const auto& pl : plan.layers)
      if (pl.kv_source < 0)
        n += row * (pl.type == gemma3n::LayerType::kSliding ? std::min(tokens, c.sliding_window) : tokens);
    return n;
  }
  Status check_media(const GenerationRequest& req) const;
  void media_loop();
  void calibrate();
  void loop();
  void admit(std::deque<std::unique_ptr<Sequence>>& fresh);
  void run_step(int turn);
  void finish(Sequence& s, FinishInfo::Reason r);
  void emit_token(Sequence& s, int32_t tok, const TokenLogprobs& lp);

  EngineOptions opts_;
  ComputeContext ctx_;
  std::unique_ptr<gemma3n::TextModel> model_;
  std::string model_id_, default_id_;
  std::map<std::string, gemma3n::LayerPlan> plans_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Sequence>> incoming_;
  bool stopping_ = false;
  Clock::time_point deadline_;
  EngineStats stats_;
  CostModel cost_;                    // guarded by mu_
  int queued_ = 0;                    // submitted, not yet admitted (guarded by mu_)
  int64_t weights_bytes_ = 0;         // resident text weights (for the memory budget)
  bool fits_budget(int64_t need) const {
    return weights_bytes_ + media_->resident_bytes() + kv_reserved_ + need <= opts_.memory_budget_bytes;
  }
  int64_t kv_reserved_ = 0;           // engine thread: KV bytes reserved by admitted sequences
  int64_t pending_prompt_tokens_ = 0; // prompt rows not yet prefilled (guarded by mu_)
  uint64_t next_id_ = 0;
  std::thread thread_;
  std::unique_ptr<MediaRuntime> media_;
  std::deque<std::unique_ptr<Sequence>> media_queue_;  // guarded by mu_
  std::condition_variable media_cv_;
  std::thread media_thread_;

  // Engine-thread state.
  std::vector<std::unique_ptr<Sequence>> active_;
  std::deque<std::unique_ptr<Sequence>> waiting_;
};

void EngineImpl::admit(std::deque<std::unique_ptr<Sequence>>& fresh) {
  for (auto& s : fresh) waiting_.push_back(std::move(s));
  fresh.clear();
  while (!waiting_.empty() && static_cast<int>(active_.size()) < opts_.max_batch) {
    std::string id;
    const gemma3n::LayerPlan* plan = resolve_model(waiting_.front()->model_id, &id);
    const int64_t need =
        kv_bytes_for(*plan, static_cast<int>(waiting_.front()->req.prompt.size()) + waiting_.front()->req.max_tokens);
    // Memory budget: admit only what fits beside the weights (text and loaded towers) and the
    // running sequences' caches. Under pressure, towers with no encode in flight go first (they
    // reload on their next request); then the request waits.
    if (opts_.memory_budget_bytes > 0 && !active_.empty() && !fits_budget(need)) {
      if (media_->resident_bytes() == 0 || media_->unload_for_memory() == 0 || !fits_budget(need)) break;
    }
    auto s = std::move(waiting_.front());
    waiting_.pop_front();
    {
      std::lock_guard<std::mutex> lk(mu_);
      --queued_;
    }
    s->kv_reserved = need;
    kv_reserved_ += need;
    s->plan = plan;
    s->plan_params = gemma3n::plan_effective_params(model_->text_config(), *plan);
    s->kv = model_->new_sequence(*s->plan);
    model_->weights().ple->prefetch(s->req.prompt);  // prompt rows, ahead of their prefill chunks
    s->sampler = std::make_unique<Sampler>(s->req.sampling, model_->text_config().vocab_size);
    s->started = Clock::now();
    active_.push_back(std::move(s));
  }
}

void EngineImpl::finish(Sequence& s, FinishInfo::Reason r) {
  if (s.finished) return;
  s.finished = true;
  kv_reserved_ -= s.kv_reserved;
  s.kv_reserved = 0;
  if (s.in_prefill()) {
    std::lock_guard<std::mutex> lk(mu_);
    pending_prompt_tokens_ = std::max<int64_t>(0, pending_prompt_tokens_ - (static_cast<int64_t>(s.req.prompt.size()) - s.prefilled));
  }
  TokenEvent ev;
  ev.kind = TokenEvent::Kind::kFinished;
  const auto now = Clock::now();
  ev.finish.reason = r;
  ev.finish.prompt_tokens = static_cast<int>(s.req.prompt.size());
  ev.finish.completion_tokens = static_cast<int>(s.generated.size());
  ev.finish.queue_s = seconds(s.submitted, s.started);
  ev.finish.ttft_s = s.generated.empty() ? 0 : seconds(s.submitted, s.first_token);
  ev.finish.total_s = seconds(s.submitted, now);
  ev.finish.model = s.model_id;
  ev.finish.budget_met = s.budget_met;
  if (s.req.sink) s.req.sink->on_event(ev);
}

void EngineImpl::emit_token(Sequence& s, int32_t tok, const TokenLogprobs& lp) {
  if (s.generated.empty()) s.first_token = Clock::now();
  s.generated.push_back(tok);
  TokenEvent ev;
  ev.kind = TokenEvent::Kind::kToken;
  ev.token = tok;
  ev.logprob = lp.logprob;
  ev.top_logprobs = lp.top;
  if (s.req.sink) s.req.sink->on_event(ev);
}

void EngineImpl::run_step(int turn) {
  // Sizes that agree on every KV role share steps (each layer's weights read once for all);
  // others take turns.
  std::vector<SeqState> states;
  std::vector<const gemma3n::LayerPlan*> group_rep;
  for (const auto& s : active_) {
    size_t g = 0;
    while (g < group_rep.size() && !gemma3n::step_compatible(*group_rep[g], *s->plan)) ++g;
    if (g == group_rep.size()) group_rep.push_back(s->plan);
    states.push_back({static_cast<int>(s->req.prompt.size()) - s->prefilled, static_cast<int>(g)});
  }
  const auto items = plan_step(states, StepPlanOptions{opts_.prefill_chunk}, turn);
  if (items.empty()) return;
  gemma3n::StepBatch b;
  std::vector<SequenceKv*> kvs;
  std::vector<const gemma3n::LayerPlan*> plans;
  std::vector<int> sampled;  // item index -> sequence index, for rows with logits
  for (const auto& it : items) {
    Sequence& s = *active_[it.seq];
    const int slot = static_cast<int>(kvs.size());
    kvs.push_back(s.kv.get());
    plans.push_back(s.plan);
    if (!s.in_prefill()) {
      b.add(s.generated.back(), s.kv->length(), slot, true);
      sampled.push_back(it.seq);
      continue;
    }
    for (int k = 0; k < it.tokens; ++k) {
      const int pos = s.prefilled + k;
      const bool last = pos + 1 == static_cast<int>(s.req.prompt.size());
      b.add(s.req.prompt[pos], pos, slot, last);
      if (!s.soft.empty()) {
        b.soft_embeddings.resize(b.tokens.size() - 1, nullptr);
        b.soft_embeddings.push_back(s.soft[pos]);
      }
      if (last) sampled.push_back(it.seq);
    }
    s.prefilled += it.tokens;
  }
  if (!b.soft_embeddings.empty()) b.soft_embeddings.resize(b.tokens.size(), nullptr);
  gemma3n::StepOutput out;
  const auto t0 = Clock::now();
  auto st = model_->forward(b, plans, kvs, &out);
  const double dt = seconds(t0, Clock::now());
  if (!st.ok()) {
    spdlog::error("engine step failed: {}", st.error().message);
    for (const auto& it : items) {
      TokenEvent ev;
      ev.kind = TokenEvent::Kind::kFailed;
      ev.error = st.error();
      active_[it.seq]->finished = true;
      if (active_[it.seq]->req.sink) active_[it.seq]->req.sink->on_event(ev);
    }
    return;
  }
  const int V = model_->text_config().vocab_size;
  for (size_t r = 0; r < sampled.size(); ++r) {
    Sequence& s = *active_[sampled[r]];
    std::span<const float> logits(out.logits.data() + r * V, static_cast<size_t>(V));
    TokenLogprobs lp;
    const int32_t tok = s.sampler->sample(logits, s.generated, &lp);
    const auto& eos = model_->config().eos_token_ids;
    const bool stop = std::find(eos.begin(), eos.end(), tok) != eos.end() ||
                      std::find(s.req.stop_tokens.begin(), s.req.stop_tokens.end(), tok) != s.req.stop_tokens.end();
    if (stop) {
      finish(s, FinishInfo::Reason::kStop);
      continue;
    }
    // The next step reads this token's PLE row: start reading it now, while other work runs.
    model_->weights().ple->prefetch(std::span<const int32_t>(&tok, 1));
    emit_token(s, tok, lp);
    if (static_cast<int>(s.generated.size()) >= s.req.max_tokens ||
        s.kv->length() + 1 >= std::min(opts_.max_context, model_->text_config().max_position_embeddings))
      finish(s, FinishInfo::Reason::kLength);
  }
  std::lock_guard<std::mutex> lk(mu_);
  const int decode_rows = static_cast<int>(std::count_if(items.begin(), items.end(), [&](const StepItem& i) {
    return states[i.seq].prompt_left == 0;
  }));
  const int prefill_rows = static_cast<int>(b.tokens.size()) - decode_rows;
  stats_.prompt_tokens_total += prefill_rows;
  pending_prompt_tokens_ = std::max<int64_t>(0, pending_prompt_tokens_ - prefill_rows);
  // A step of several sizes reads the largest one's weights: its time teaches that size.
  const Sequence* largest = active_[items[0].seq].get();
  for (const auto& it : items)
    if (active_[it.seq]->plan_params > largest->plan_params) largest = active_[it.seq].get();
  cost_.observe(largest->model_id, decode_rows, prefill_rows, dt);
  ++stats_.steps_total;
  if (std::any_of(plans.begin(), plans.end(), [&](const auto* p) { return p != plans[0]; })) ++stats_.mixed_size_steps;
  stats_.completion_tokens_total += static_cast<int64_t>(sampled.size());
  if (prefill_rows > 0) stats_.prefill_tokens_per_s = prefill_rows / std::max(dt, 1e-9);
  if (decode_rows > 0) stats_.decode_tokens_per_s = decode_rows / std::max(dt, 1e-9);
}

Status EngineImpl::check_media(const GenerationRequest& req) const {
  for (auto kind : {MediaInput::Kind::kImage, MediaInput::Kind::kAudio}) {
    const int32_t ph = media_->placeholder_id(kind);
    const int64_t slots = std::count(req.prompt.begin(), req.prompt.end(), ph);
    const int64_t items = std::count_if(req.media.begin(), req.media.end(), [&](const MediaInput& m) { return m.kind == kind; });
    const char* what = kind == MediaInput::Kind::kImage ? "image" : "audio";
    if (items > 0 && !media_->allowed(kind))
      return make_error(ErrorCode::kInvalidArgument, std::string(what) + " input is not enabled on this server");
    if (slots != items * media_->tokens_per_item(kind))
      return make_error(ErrorCode::kInvalidArgument, std::string("the prompt has ") + std::to_string(slots) + " " + what +
                                                         " placeholder tokens for " + std::to_string(items) + " " + what +
                                                         " input(s)");
  }
  return ok_status();
}

void EngineImpl::media_loop() {
  const int64_t D = model_->text_config().hidden_size;
  for (;;) {
    std::unique_ptr<Sequence> seq;
    {
      std::unique_lock<std::mutex> lk(mu_);
      media_cv_.wait(lk, [&] { return stopping_ || !media_queue_.empty(); });
      if (stopping_) {
        for (auto& s : media_queue_) incoming_.push_back(std::move(s));  // the loop cancels them
        media_queue_.clear();
        cv_.notify_one();
        return;
      }
      seq = std::move(media_queue_.front());
      media_queue_.pop_front();
    }
    // Encode every item, then point each placeholder position at its soft-token row.
    std::vector<std::vector<float>> rows;
    Error err;
    bool failed = false;
    for (const auto& m : seq->req.media) {
      if (seq->cancelled->load()) break;
      auto enc = media_->encode(m);
      if (!enc.ok()) {
        err = enc.error();
        failed = true;
        break;
      }
      rows.push_back(std::move(enc).value());
    }
    if (failed) {
      spdlog::warn("request {}: media encoding failed: {}", seq->id, err.message);
      TokenEvent ev;
      ev.kind = TokenEvent::Kind::kFailed;
      ev.error = err;
      if (seq->req.sink) seq->req.sink->on_event(ev);
      std::lock_guard<std::mutex> lk(mu_);
      --queued_;
      pending_prompt_tokens_ -= static_cast<int64_t>(seq->req.prompt.size());
      continue;
    }
    if (rows.size() == seq->req.media.size()) {
      for (const auto& r : rows) seq->soft_storage.insert(seq->soft_storage.end(), r.begin(), r.end());
      seq->soft.assign(seq->req.prompt.size(), nullptr);
      for (auto kind : {MediaInput::Kind::kImage, MediaInput::Kind::kAudio}) {
        const int32_t ph = media_->placeholder_id(kind);
        size_t item_offset = 0;
        int64_t k = 0;  // placeholder index of this kind
        std::vector<size_t> starts;
        for (size_t i = 0, off = 0; i < seq->req.media.size(); off += rows[i].size(), ++i)
          if (seq->req.media[i].kind == kind) starts.push_back(off);
        const int64_t per = media_->tokens_per_item(kind);
        for (size_t p = 0; p < seq->req.prompt.size(); ++p)
          if (seq->req.prompt[p] == ph) {
            item_offset = starts[static_cast<size_t>(k / per)];
            seq->soft[p] = seq->soft_storage.data() + item_offset + static_cast<size_t>(k % per) * D;
            ++k;
          }
      }
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      incoming_.push_back(std::move(seq));
    }
    cv_.notify_one();
  }
}

void EngineImpl::calibrate() {
  // One decode step and one short prefill of the full model give its weight-pass time W and
  // per-row cost c; the other sizes start from these scaled by their effective parameters and
  // learn their own values from measured steps.
  const auto& full = model_->full();
  auto time_rows = [&](int rows) {
    auto kv = model_->new_sequence(full);
    SequenceKv* kvs[] = {kv.get()};
    gemma3n::StepBatch b;
    for (int i = 0; i < rows; ++i) b.add(2, i, 0, i + 1 == rows);
    gemma3n::StepOutput out;
    const auto t0 = Clock::now();
    (void)model_->forward(b, full, kvs, &out);
    return seconds(t0, Clock::now());
  };
  time_rows(1);  // warm-up
  const double w = time_rows(1);
  const int rows = std::min(64, std::max(2, opts_.prefill_chunk));
  const double c = std::max(0.0, time_rows(rows) - w) / rows;
  const double full_params = static_cast<double>(gemma3n::plan_effective_params(model_->text_config(), full));
  for (const auto& [id, plan] : plans_) {
    const double f = static_cast<double>(gemma3n::plan_effective_params(model_->text_config(), plan)) / full_params;
    cost_.set_prior(id, {w * f, c * f});
  }
  spdlog::info("cost model: weight pass {:.4f} s, {:.5f} s per row (full model); {} sizes", w, c, plans_.size());
}

void EngineImpl::loop() {
  int turn = 0;
  for (;;) {
    std::deque<std::unique_ptr<Sequence>> fresh;
    bool stopping;
    {
      std::unique_lock<std::mutex> lk(mu_);
      auto ready = [&] { return stopping_ || !incoming_.empty() || !active_.empty() || !waiting_.empty(); };
      if (opts_.media.idle_unload_s > 0) {
        if (!cv_.wait_for(lk, std::chrono::seconds(1), ready)) {
          lk.unlock();
          media_->unload_idle();
          continue;
        }
      } else {
        cv_.wait(lk, ready);
      }
      fresh.swap(incoming_);
      stopping = stopping_;
      stats_.queue_depth = queued_;
    }
    if (stopping) {
      // Finish what runs until the deadline; queued work is cancelled at once.
      for (auto& s : fresh) finish(*s, FinishInfo::Reason::kCancelled);
      for (auto& s : waiting_) finish(*s, FinishInfo::Reason::kCancelled);
      {
        std::lock_guard<std::mutex> lk(mu_);
        queued_ = 0;
      }
      fresh.clear();
      waiting_.clear();
      if (active_.empty()) return;
      if (Clock::now() >= deadline_) {
        for (auto& s : active_) finish(*s, FinishInfo::Reason::kCancelled);
        return;
      }
    }
    admit(fresh);
    for (auto& s : active_)
      if (s->cancelled->load()) finish(*s, FinishInfo::Reason::kCancelled);
    std::erase_if(active_, [](const std::unique_ptr<Sequence>& s) { return s->finished; });
    if (!active_.empty()) run_step(turn++);
    std::erase_if(active_, [](const std::unique_ptr<Sequence>& s) { return s->finished; });
    std::lock_guard<std::mutex> lk(mu_);
    stats_.requests_active = static_cast<int64_t>(active_.size());
    int64_t kvb = 0;
    for (const auto& s : active_) kvb += static_cast<int64_t>(s->kv->bytes());
    stats_.kv_bytes_in_use = kvb;
  }
}

}  // namespace

std::unique_ptr<Engine> create_engine(const EngineOptions& opts) { return std::make_unique<EngineImpl>(opts); }

}  // namespace gs::runtime
