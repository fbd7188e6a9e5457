// image_url source policy (api/prompt/image_source.h) without sockets: data: URLs, the injected
// fetcher behind the --image-fetch switch, and local files confined to --image-dir ("..", symlinks,
// sibling prefixes, FIFOs, odd file:// spellings), plus a fuzz pass over random URLs.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "api/prompt/image_source.h"
#include "tests/support/test_paths.h"

namespace gs::api {
namespace {

namespace fs = std::filesystem;
const std::string kParam = "messages[0].content[1].image_url.url";

void write_file(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

std::string as_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// <tmp>/images/{a.png, sub/b.png, link_in -> a.png, link_out -> ../secret.png, dirlink -> ..},
// <tmp>/secret.png and <tmp>/images2/c.png (a sibling whose name extends the allowed one).
struct Tree {
  fs::path root = test::temp_dir("imgsrc");
  fs::path dir = root / "images";
  Tree() {
    fs::create_directories(dir / "sub");
    fs::create_directories(root / "images2");
    write_file(dir / "a.png", "AAAA-png");
    write_file(dir / "sub" / "b png.png", "BBBB");
    write_file(root / "secret.png", "SECRET");
    write_file(root / "images2" / "c.png", "CCCC");
    fs::create_symlink(dir / "a.png", dir / "link_in");
    fs::create_symlink("../secret.png", dir / "link_out");
    fs::create_directory_symlink("..", dir / "dirlink");
  }
  ~Tree() { fs::remove_all(root); }
  ImageSourcePolicy policy() const {
    ImageSourcePolicy p;
    p.image_dir = dir.string();
    return p;
  }
};

TEST(ImageSource, Classification) {
  EXPECT_EQ(classify_image_url("data:image/png;base64,AAAA"), ImageSourceKind::kDataUrl);
  EXPECT_EQ(classify_image_url("DATA:image/png;base64,AAAA"), ImageSourceKind::kDataUrl);
  EXPECT_EQ(classify_image_url("http://x/a.png"), ImageSourceKind::kRemote);
  EXPECT_EQ(classify_image_url("HTTPS://x/a.png"), ImageSourceKind::kRemote);
  EXPECT_EQ(classify_image_url("file:///a.png"), ImageSourceKind::kLocalFile);
  EXPECT_EQ(classify_image_url("/srv/a.png"), ImageSourceKind::kLocalFile);
  for (const char* other : {"", "a.png", "./a.png", "ftp://x/a.png", "httpx://a", "c:\\a.png"})
    EXPECT_EQ(classify_image_url(other), ImageSourceKind::kOther) << other;
}

TEST(ImageSource, DataUrlsAndUnknownSchemes) {
  ImageSourcePolicy p;
  auto ok = load_image_bytes("data:image/png;base64,QUJDRA==", p, kParam);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(as_string(ok.value()), "ABCD");
  for (const char* bad : {"data:image/png;base64,@@@", "data:image/png,plain", "ftp://h/a.png", "a.png", ""}) {
    auto r = load_image_bytes(bad, p, kParam);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().param, kParam);
    EXPECT_EQ(r.error().type, "invalid_request_error");
  }
}

TEST(ImageSource, RemoteNeedsTheSwitchAndUsesTheInjectedFetcher) {
  ImageSourcePolicy p;
  int calls = 0;
  p.fetch = [&](const std::string& url) -> Result<std::vector<uint8_t>> {
    ++calls;
    if (url.find("missing") != std::string::npos) return bad_request("could not fetch: HTTP 404");
    if (url.find("big") != std::string::npos) return std::vector<uint8_t>(100, 1);
    return std::vector<uint8_t>{'P', 'N', 'G', '!'};
  };
  auto off = load_image_bytes("https://example.com/cat.png", p, kParam);
  ASSERT_FALSE(off.ok());
  EXPECT_EQ(off.error().status, 400);
  EXPECT_NE(off.error().message.find("--image-fetch on"), std::string::npos) << off.error().message;
  EXPECT_EQ(calls, 0);  // no request leaves the server while fetching is off

  p.fetch_remote = true;
  p.max_bytes = 50;
  auto on = load_image_bytes("https://example.com/cat.png", p, kParam);
  ASSERT_TRUE(on.ok());
  EXPECT_EQ(as_string(on.value()), "PNG!");
  auto missing = load_image_bytes("http://example.com/missing.png", p, kParam);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().param, kParam);  // the fetcher's error gets the part's location
  EXPECT_NE(missing.error().message.find("404"), std::string::npos);
  auto big = load_image_bytes("http://example.com/big.png", p, kParam);  // a fetcher that ignored the cap
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("limit"), std::string::npos);

  p.fetch = nullptr;  // switched on without a fetcher: still refused, never a crash
  EXPECT_FALSE(load_image_bytes("https://example.com/cat.png", p, kParam).ok());
}

TEST(ImageSource, LocalFilesNeedImageDir) {
  Tree t;
  ImageSourcePolicy p;  // image_dir unset
  auto r = load_image_bytes((t.dir / "a.png").string(), p, kParam);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().status, 400);
  EXPECT_NE(r.error().message.find("--image-dir"), std::string::npos);
  EXPECT_FALSE(load_image_bytes("file://" + (t.dir / "a.png").string(), p, kParam).ok());
}

TEST(ImageSource, LocalFilesUnderImageDirAreRead) {
  Tree t;
  const auto p = t.policy();
  const std::string d = t.dir.string();
  for (const std::string& ok : {d + "/a.png", "file://" + d + "/a.png", "file://localhost" + d + "/a.png",
                                "FILE://" + d + "/a.png", d + "/sub/../a.png", d + "//a.png", d + "/link_in",
                                d + "/dirlink/images/a.png"}) {
    auto r = load_image_bytes(ok, p, kParam);
    ASSERT_TRUE(r.ok()) << ok << ": " << r.error().message;
    EXPECT_EQ(as_string(r.value()), "AAAA-png") << ok;
  }
  auto spaced = load_image_bytes("file://" + d + "/sub/b%20png.png", p, kParam);
  ASSERT_TRUE(spaced.ok()) << spaced.error().message;
  EXPECT_EQ(as_string(spaced.value()), "BBBB");
  // image_dir itself given through a symlink and with a trailing slash / dot segments.
  fs::create_directory_symlink(t.dir, t.root / "alias");
  ImageSourcePolicy alias;
  alias.image_dir = (t.root / "alias").string() + "/./";
  EXPECT_TRUE(load_image_bytes(d + "/a.png", alias, kParam).ok());
  EXPECT_TRUE(load_image_bytes((t.root / "alias" / "a.png").string(), alias, kParam).ok());
}

TEST(ImageSource, EscapesAndMissingFilesGiveOneIndistinguishableAnswer) {
  Tree t;
  const auto p = t.policy();
  const std::string d = t.dir.string();
  auto missing = load_image_bytes(d + "/nope.png", p, kParam);
  ASSERT_FALSE(missing.ok());
  const std::string message = missing.error().message;
  ASSERT_EQ(mkfifo((t.dir / "fifo").c_str(), 0600), 0);
  for (const std::string& bad :
       {d + "/../secret.png", d + "/sub/../../secret.png", "file://" + d + "/%2e%2e/secret.png", d + "/link_out",
        d + "/dirlink/secret.png", (t.root / "secret.png").string(), (t.root / "images2" / "c.png").string(),
        (t.root / "nope.png").string(), std::string("/etc/passwd"), d, d + "/", d + "/sub", d + "/fifo",
        "file://otherhost" + d + "/a.png", "file:" + d + "/a.png", "file://" + d + "/a%00.png",
        "file://" + d + "/a%2.png", "file://" + d + "/a%zz.png"}) {
    auto r = load_image_bytes(bad, p, kParam);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().status, 400) << bad;
    EXPECT_EQ(r.error().param, kParam) << bad;
    EXPECT_EQ(r.error().message, message) << bad;  // never reveals whether the file exists
    EXPECT_EQ(r.error().message.find(t.root.string()), std::string::npos);
  }
  // A missing image_dir refuses everything the same way.
  ImageSourcePolicy gone;
  gone.image_dir = (t.root / "no-such-dir").string();
  EXPECT_EQ(load_image_bytes(d + "/a.png", gone, kParam).error().message, message);
}

TEST(ImageSource, LocalFileSizeLimit) {
  Tree t;
  auto p = t.policy();
  p.max_bytes = 4;
  auto r = load_image_bytes((t.dir / "a.png").string(), p, kParam);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("limit of 4 bytes"), std::string::npos) << r.error().message;
  p.max_bytes = 8;
  EXPECT_TRUE(load_image_bytes((t.dir / "a.png").string(), p, kParam).ok());
}

TEST(ImageSource, ResolveLocalImageGivesTheCanonicalPath) {
  Tree t;
  auto r = resolve_local_image(t.dir.string() + "/sub/../link_in", t.dir.string(), kParam);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r.value(), fs::canonical(t.dir / "a.png"));
}

// Random and mutated URLs: every answer is a value (ok or a 400), never a crash or a hang.
TEST(ImageSource, FuzzedUrlsNeverCrash) {
  Tree t;
  auto p = t.policy();
  p.fetch_remote = true;
  p.fetch = [](const std::string&) -> Result<std::vector<uint8_t>> { return bad_request("offline"); };
  const std::string d = t.dir.string();
  const std::vector<std::string> seeds = {"file://" + d + "/a.png", d + "/../secret.png", "data:image/png;base64,QUJD",
                                          "http://127.0.0.1:1/x", "file://localhost" + d + "/sub/b%20png.png"};
  const std::string alphabet("/.%:@?#\\\0azAZ09 ~-_+=", 21);
  std::mt19937 rng(7);
  int oks = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const size_t pos = rng() % s.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: s[pos] = c; break;
        case 1: s.insert(s.begin() + static_cast<long>(pos), c); break;
        default: s.erase(pos, 1 + rng() % 3);
      }
    }
    auto r = load_image_bytes(s, p, kParam);
    if (r.ok()) {
      ++oks;
      EXPECT_NE(as_string(r.value()), "SECRET") << s;
    } else {
      EXPECT_EQ(r.error().status, 400) << s;
    }
  }
  EXPECT_GT(oks, 0);
}

}  // namespace
}  // namespace gs::api
