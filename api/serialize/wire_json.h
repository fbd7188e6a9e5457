// Internal helpers shared by the wire serialisers (not part of the api/ interface).
#pragma once
#include <nlohmann/json.hpp>

#include "api/serialize/wire.h"

namespace gs::api::detail {

inline std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
// Valid-UTF-8 rendering of raw token bytes (invalid sequences become U+FFFD).
std::string printable(const std::string& raw);
nlohmann::json bytes_array(const std::string& raw);
nlohmann::json usage_json(const UsageInfo& u);

nlohmann::json chat_final(const WireHeader& h, const std::vector<ChoiceResult>& choices, const UsageInfo& u);
nlohmann::json chat_chunk(const WireHeader& h, const ChunkDelta& d);
nlohmann::json completion_final(const WireHeader& h, const std::vector<ChoiceResult>& choices, const UsageInfo& u);
nlohmann::json completion_chunk(const WireHeader& h, const ChunkDelta& d);

}  // namespace gs::api::detail
