#include "runtime/tokenizer/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "runtime/tokenizer/utf8.h"

namespace gs::runtime {
namespace {

// Python's str.isspace() set, which Jinja's trim uses.
bool is_unicode_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Trims valid UTF-8 (callers check validity first).
std::string_view trim(std::string_view s) {
  size_t b = 0;
  while (b < s.size()) {
    size_t i = b;
    if (!is_unicode_space(utf8::next_code_point(s, i))) break;
    b = i;
  }
  size_t e = s.size();
  while (e > b) {
    size_t start = e - 1;
    while (start > b && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
    size_t i = start;
    if (!is_unicode_space(utf8::next_code_point(s, i))) break;
    e = start;
  }
  return s.substr(b, e - b);
}

Error invalid(const std::string& msg) { return make_error(ErrorCode::kInvalidArgument, msg); }

enum class Role { kUser, kModel, kSystem, kUnknown };
Role parse_role(const std::string& r) {
  if (r == "user") return Role::kUser;
  if (r == "assistant" || r == "model") return Role::kModel;
  if (r == "system" || r == "developer") return Role::kSystem;
  return Role::kUnknown;
}

// Builds the prompt as segments: markup (special tokens allowed) and content (plain text).
class Builder {
 public:
  void markup(std::string s) { add(std::move(s), true); }
  void content(std::string_view s) { add(std::string(s), false); }
  std::vector<TextSegment> segments() const {
    std::vector<TextSegment> out;
    for (const auto& [text, special] : parts_) out.push_back({text, special});
    return out;
  }
  std::string text() const {
    std::string out;
    for (const auto& p : parts_) out += p.first;
    return out;
  }

 private:
  void add(std::string s, bool special) {
    if (s.empty()) return;
    if (!parts_.empty() && parts_.back().second == special)
      parts_.back().first += s;
    else
      parts_.emplace_back(std::move(s), special);
  }
  std::vector<std::pair<std::string, bool>> parts_;
};

Status check_media_tokens(const Tokenizer& tok, const std::string& a, const std::string& b, const std::string& c,
                          const char* what) {
  for (const std::string* t : {&a, &b, &c})
    if (!tok.token_id(*t))
      return make_error(ErrorCode::kUnsupported,
                        std::string("this model's tokenizer has no ") + *t + " token, so it cannot take " + what);
  return ok_status();
}

// Appends one message's parts; counts media.
Status render_parts(const ChatMessage& m, const Tokenizer& tok, const ChatTemplateOptions& opt, Builder& b,
                    RenderedPrompt& out) {
  for (const ChatPart& p : m.parts) {
    if (p.kind == ChatPart::Kind::kText) {
      if (utf8::find_invalid(p.text) != std::string_view::npos) return invalid("message text is not valid UTF-8");
      b.content(trim(p.text));
      continue;
    }
    const bool image = p.kind == ChatPart::Kind::kImage;
    const std::string& bo = image ? opt.boi_token : opt.boa_token;
    const std::string& soft = image ? opt.image_token : opt.audio_token;
    const std::string& eo = image ? opt.eoi_token : opt.eoa_token;
    if (Status st = check_media_tokens(tok, bo, soft, eo, image ? "images" : "audio"); !st) return st;
    const int n = image ? opt.image_tokens : opt.audio_tokens;
    if (n <= 0 || n > 1 << 16) return invalid("bad soft-token count " + std::to_string(n));
    std::string s = "\n\n" + bo;
    s.reserve(s.size() + static_cast<size_t>(n) * soft.size() + eo.size() + 2);
    for (int k = 0; k < n; ++k) s += soft;
    s += eo + "\n\n";
    b.markup(std::move(s));
    (image ? out.num_images : out.num_audio)++;
  }
  return ok_status();
}

}  // namespace

Expected<RenderedPrompt> render_chat(const std::vector<ChatMessage>& msgs, const Tokenizer& tok,
                                     const ChatTemplateOptions& opt) {
  if (msgs.empty()) return invalid("messages must not be empty");
  if (tok.bos_id() < 0) return make_error(ErrorCode::kUnsupported, "tokenizer has no <bos> token");
  RenderedPrompt out;
  size_t first = 0;
  std::string system_prefix;
  if (parse_role(msgs[0].role) == Role::kSystem) {
    for (const ChatPart& p : msgs[0].parts) {
      if (p.kind != ChatPart::Kind::kText) return invalid("a system message can only contain text");
      if (utf8::find_invalid(p.text) != std::string_view::npos) return invalid("message text is not valid UTF-8");
      system_prefix += p.text;
    }
    system_prefix += "\n\n";
    first = 1;
  }
  if (first == msgs.size()) return invalid("messages must contain a user message after the system message");
  Builder b;
  b.markup(tok.token_text(tok.bos_id()));
  for (size_t k = first; k < msgs.size(); ++k) {
    const ChatMessage& m = msgs[k];
    const Role role = parse_role(m.role);
    if (role == Role::kUnknown) return invalid("unsupported message role '" + m.role + "' (message " + std::to_string(k) + ")");
    if (role == Role::kSystem)
      return invalid("a " + m.role + " message is only allowed as the first message (message " + std::to_string(k) + ")");
    const bool want_user = (k - first) % 2 == 0;
    if ((role == Role::kUser) != want_user)
      return invalid("conversation roles must alternate user/assistant/user/assistant/... starting with user "
                     "(message " + std::to_string(k) + " has role '" + m.role + "')");
    b.markup("<start_of_turn>" + std::string(role == Role::kUser ? "user" : "model") + "\n");
    if (k == first) b.content(system_prefix);
    if (Status st = render_parts(m, tok, opt, b, out); !st) return st.error();
    b.markup("<end_of_turn>\n");
  }
  if (opt.add_generation_prompt) b.markup("<start_of_turn>model\n");
  const std::vector<TextSegment> segs = b.segments();
  auto ids = tok.encode_segments(segs);
  if (!ids) return ids.error();
  out.text = b.text();
  out.ids = std::move(ids).value();
  return out;
}

namespace {
// Replaces a marker token string by the piece of the id config.json names, when present.
Status token_from_config(const nlohmann::json& cfg, const char* key, const Tokenizer& tok, std::string& token) {
  if (!cfg.contains(key) || !cfg[key].is_number_integer()) return ok_status();
  const auto id = cfg[key].get<int64_t>();
  if (id < 0 || id >= tok.vocab_size() || tok.token_text(static_cast<int32_t>(id)).empty())
    return make_error(ErrorCode::kCorruptFile,
                      std::string("config.json ") + key + " = " + std::to_string(id) + " is not in the tokenizer");
  token = tok.token_text(static_cast<int32_t>(id));
  return ok_status();
}
}  // namespace

Expected<ChatTemplateOptions> chat_options_for_model(const std::string& model_dir, const Tokenizer& tok) {
  ChatTemplateOptions opt;
  const std::filesystem::path path = std::filesystem::path(model_dir) / "config.json";
  if (!std::filesystem::exists(path)) return opt;
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(ss.str());
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kCorruptFile, path.string() + ": " + e.what());
  }
  if (!cfg.is_object()) return make_error(ErrorCode::kCorruptFile, path.string() + ": not an object");
  if (cfg.contains("vision_soft_tokens_per_image") && cfg["vision_soft_tokens_per_image"].is_number_integer())
    opt.image_tokens = cfg["vision_soft_tokens_per_image"].get<int>();
  if (cfg.contains("audio_soft_tokens_per_image") && cfg["audio_soft_tokens_per_image"].is_number_integer())
    opt.audio_tokens = cfg["audio_soft_tokens_per_image"].get<int>();
  const std::pair<const char*, std::string*> keys[] = {
      {"boi_token_id", &opt.boi_token}, {"image_token_id", &opt.image_token}, {"eoi_token_id", &opt.eoi_token},
      {"boa_token_id", &opt.boa_token}, {"audio_token_id", &opt.audio_token}, {"eoa_token_id", &opt.eoa_token}};
  for (const auto& [key, token] : keys)
    if (Status st = token_from_config(cfg, key, tok, *token); !st) return st.error();
  return opt;
}

std::vector<int32_t> chat_stop_ids(const Tokenizer& tok) {
  std::vector<int32_t> ids;
  if (tok.eos_id() >= 0) ids.push_back(tok.eos_id());
  if (auto eot = tok.token_id("<end_of_turn>"); eot && *eot != tok.eos_id()) ids.push_back(*eot);
  return ids;
}

}  // namespace gs::runtime
