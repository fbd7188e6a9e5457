// Stop strings across token boundaries: decides which generated text is safe to send now.
// Text that might be the start of a stop string is held back until it is disambiguated, so
// a stop string never leaks into the output, even split over several tokens.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace gs::api {

class StopFilter {
 public:
  explicit StopFilter(std::vector<std::string> stops);

  // Appends decoded text; returns what can be emitted now. When a stop string completes, returns
  // the text before it and matched() becomes true; everything after is dropped.
  std::string push(std::string_view text);
  // End of generation without a match: releases the held-back text.
  std::string flush();
  bool matched() const { return matched_; }

 private:
  size_t holdback_len() const;
  std::vector<std::string> stops_;
  std::string held_;
  bool matched_ = false;
};

}  // namespace gs::api
