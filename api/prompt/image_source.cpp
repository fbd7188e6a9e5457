#include "api/prompt/image_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <optional>

#include "api/prompt/base64.h"

namespace gs::api {
namespace {

namespace fs = std::filesystem;

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// One answer for "outside", "missing", "not a file" and "unreadable": which of them it was would
// tell a client something about the server's disk.
ApiError file_unavailable(const std::string& param) {
  return bad_request("image_url.url names a local file that is not available to this server (only files under "
                     "the directory given with --image-dir can be used)",
                     param, "invalid_value");
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

// "file:///a/b%20c" / "file://localhost/a/b" / "/a/b" → "/a/b c"; nullopt for other hosts,
// relative paths, bad escapes and NUL bytes.
std::optional<std::string> local_path_of(std::string_view url) {
  std::string_view path = url;
  const bool is_file_url = starts_with_nocase(url, "file:");
  if (is_file_url) {
    path.remove_prefix(5);
    if (path.substr(0, 2) != "//") return std::nullopt;
    path.remove_prefix(2);
    const size_t slash = path.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const std::string_view host = path.substr(0, slash);
    if (!host.empty() && !(host.size() == 9 && starts_with_nocase(host, "localhost"))) return std::nullopt;
    path.remove_prefix(slash);
  }
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (is_file_url && c == '%') {
      if (i + 2 >= path.size()) return std::nullopt;
      const int hi = hex_value(path[i + 1]), lo = hex_value(path[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

bool lies_under(const fs::path& p, const fs::path& dir) {
  if (dir.empty() || p.empty()) return false;  // e.g. a canonical() that failed
  auto [d, q] = std::mismatch(dir.begin(), dir.end(), p.begin(), p.end());
  (void)q;
  return d == dir.end();
}

// Opens without following a final symlink and checks again, on the open descriptor, that the file
// is a regular file under `dir`: a path component swapped for a symlink after resolve_local_image
// looked at it is caught here.
Result<std::vector<uint8_t>> read_checked(const fs::path& canon, const fs::path& dir, int64_t max_bytes,
                                          const std::string& param) {
  const int fd = ::open(canon.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return file_unavailable(param);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return file_unavailable(param);
  std::error_code ec;
  const fs::path actual = fs::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  if (!ec && !lies_under(actual, dir)) return file_unavailable(param);
  if (st.st_size > max_bytes)
    return bad_request("the image file is larger than the limit of " + std::to_string(max_bytes) + " bytes", param,
                       "invalid_value");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  bytes.resize(got);  // a file that shrank meanwhile is simply shorter (the decoder judges it)
  return bytes;
}

}  // namespace

ImageSourceKind classify_image_url(std::string_view url) {
  if (starts_with_nocase(url, "data:")) return ImageSourceKind::kDataUrl;
  if (starts_with_nocase(url, "http://") || starts_with_nocase(url, "https://")) return ImageSourceKind::kRemote;
  if (starts_with_nocase(url, "file:") || (!url.empty() && url[0] == '/')) return ImageSourceKind::kLocalFile;
  return ImageSourceKind::kOther;
}

Result<fs::path> resolve_local_image(std::string_view url, const std::string& image_dir, const std::string& param) {
  if (image_dir.empty())
    return bad_request("local image paths are not allowed on this server; send the image as a base64 data: URL "
                       "(the operator can allow files under a directory with --image-dir DIR)",
                       param, "invalid_value");
  const auto path = local_path_of(url);
  if (!path) return file_unavailable(param);
  std::error_code ec;
  const fs::path dir = fs::canonical(image_dir, ec);
  if (ec) return file_unavailable(param);
  // canonical() resolves every symlink and "..", and fails for a missing file.
  const fs::path canon = fs::canonical(*path, ec);
  if (ec || !lies_under(canon, dir) || canon == dir) return file_unavailable(param);
  if (!fs::is_regular_file(canon, ec) || ec) return file_unavailable(param);
  return canon;
}

Result<std::vector<uint8_t>> load_image_bytes(const std::string& url, const ImageSourcePolicy& policy,
                                              const std::string& param) {
  switch (classify_image_url(url)) {
    case ImageSourceKind::kDataUrl: {
      auto data = parse_data_url(url);
      if (!data) return bad_request("image_url.url is not a valid base64 data: URL", param, "invalid_value");
      return std::move(data->bytes);
    }
    case ImageSourceKind::kRemote: {
      if (!policy.fetch_remote || !policy.fetch)
        return bad_request("remote image URLs are not fetched by this server; send the image as a base64 data: URL "
                           "(the operator can enable fetching with --image-fetch on)",
                           param, "invalid_value");
      auto bytes = policy.fetch(url);
      if (!bytes) {
        ApiError e = bytes.error();
        if (!e.param) e.param = param;
        return e;
      }
      if (static_cast<int64_t>(bytes->size()) > policy.max_bytes)  // the fetcher caps too; never trust it alone
        return bad_request("the fetched image is larger than the limit of " + std::to_string(policy.max_bytes) +
                               " bytes",
                           param, "invalid_value");
      return std::move(bytes).value();
    }
    case ImageSourceKind::kLocalFile: {
      auto canon = resolve_local_image(url, policy.image_dir, param);
      if (!canon) return canon.error();
      std::error_code ec;
      return read_checked(canon.value(), fs::canonical(policy.image_dir, ec), policy.max_bytes, param);
    }
    case ImageSourceKind::kOther:
      break;
  }
  return bad_request("image_url.url must be a base64 data: URL (or, where the server allows it, an http(s) URL or "
                     "a file under its --image-dir)",
                     param, "invalid_value");
}

}  // namespace gs::api
