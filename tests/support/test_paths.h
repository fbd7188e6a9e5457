// Where tests find fixtures, sources and the built binaries.
#pragma once
#include <string>

namespace gs::test {
std::string fixture_path(const std::string& rel);  // tests/fixtures/<rel>
std::string source_path(const std::string& rel);   // <repo>/<rel>
std::string bin_path(const std::string& name);     // build/bin/<name>
std::string temp_dir(const std::string& tag);      // a fresh, empty directory under $TMPDIR
}  // namespace gs::test
