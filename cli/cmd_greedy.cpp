// gemma3n-cli greedy: KV-cached greedy decode of N steps after a prompt; prints {"tokens":[...]}.
#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "cli/model_options.h"

namespace gs::cli {

int cmd_greedy(int argc, char** argv) {
  CLI::App app{"Greedy KV-cached decode after a prompt of token ids"};
  ModelOptions mo;
  std::string ids_path;
  int steps = 16;
  add_model_options(app, &mo);
  app.add_option("--ids", ids_path, "prompt ids: int64 .npy, 1-D or [1, seq]")->required();
  app.add_option("--steps", steps, "tokens to generate")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<int32_t> ids;
  if (!read_ids(ids_path, &ids)) return 1;
  auto lm = load_model(mo);
  if (!lm) return 1;
  const int V = lm->model->text_config().vocab_size;
  auto kv = lm->model->new_sequence(lm->plan);
  runtime::SequenceKv* kvs[] = {kv.get()};
  runtime::gemma3n::StepBatch b;
  for (size_t i = 0; i < ids.size(); ++i) b.add(ids[i], static_cast<int32_t>(i), 0, i + 1 == ids.size());
  std::vector<int32_t> out_tokens;
  for (int s = 0; s < steps; ++s) {
    runtime::gemma3n::StepOutput out;
    auto st = lm->model->forward(b, lm->plan, kvs, &out);
    if (!st.ok()) {
      std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
      return 1;
    }
    const int32_t next = static_cast<int32_t>(std::max_element(out.logits.begin(), out.logits.begin() + V) -
                                              out.logits.begin());
    out_tokens.push_back(next);
    b = {};
    b.add(next, kv->length(), 0, true);
  }
  std::printf("{\"tokens\":[");
  for (size_t i = 0; i < out_tokens.size(); ++i) std::printf("%s%d", i ? "," : "", out_tokens[i]);
  std::printf("]}\n");
  return 0;
}

}  // namespace gs::cli
