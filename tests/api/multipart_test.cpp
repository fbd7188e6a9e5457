// multipart/form-data: the incremental parser gives the same result for any chunking, enforces
// its caps, rejects malformed bodies with 400 (never crashes: random and mutated inputs).
#include <gtest/gtest.h>

#include <random>

#include "api/parse/multipart.h"
#include "api/parse/transcription_parse.h"

namespace gs::api {
namespace {

const std::string kCt = "multipart/form-data; boundary=XyZ";

std::string form(const std::vector<std::tuple<std::string, std::string, std::string>>& parts,
                 const std::string& boundary = "XyZ") {
  std::string b;
  for (const auto& [name, filename, data] : parts) {
    b += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"";
    if (!filename.empty()) b += "; filename=\"" + filename + "\"\r\nContent-Type: audio/wav";
    b += "\r\n\r\n" + data + "\r\n";
  }
  return b + "--" + boundary + "--\r\n";
}

// Outcome as a comparable string: the parts, or the error.
std::string outcome(const std::string& body, const std::string& ct, size_t chunk, MultipartLimits lim = {}) {
  auto r = parse_multipart(body, ct, lim, chunk);
  if (!r) return "E" + std::to_string(r.error().status) + ":" + r.error().message;
  std::string s;
  for (const auto& p : r.value())
    s += "[" + p.name + "|" + (p.filename ? *p.filename : "<none>") + "|" + p.content_type + "|" + p.data + "]";
  return s;
}

// Feeds with random split points.
std::string outcome_random_split(const std::string& body, const std::string& ct, std::mt19937& rng,
                                 MultipartLimits lim = {}) {
  auto boundary = multipart_boundary(ct);
  if (!boundary) return "E" + std::to_string(boundary.error().status) + ":" + boundary.error().message;
  MultipartParser p(boundary.value(), lim);
  size_t off = 0;
  while (off < body.size()) {
    const size_t n = std::uniform_int_distribution<size_t>(0, 40)(rng);
    if (auto e = p.feed(std::string_view(body).substr(off, n))) return "E" + std::to_string(e->status) + ":" + e->message;
    off += n;
  }
  if (auto e = p.finish()) return "E" + std::to_string(e->status) + ":" + e->message;
  std::string s;
  for (const auto& q : p.parts())
    s += "[" + q.name + "|" + (q.filename ? *q.filename : "<none>") + "|" + q.content_type + "|" + q.data + "]";
  return s;
}

TEST(Multipart, ParsesFieldsAndFile) {
  const std::string body = form({{"model", "", "whisper-1"}, {"file", "a.wav", std::string("RIFF\0\r\n--Xy", 11)}});
  auto r = parse_multipart(body, kCt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(r.value()[0].name, "model");
  EXPECT_FALSE(r.value()[0].is_file());
  EXPECT_EQ(r.value()[0].data, "whisper-1");
  EXPECT_EQ(r.value()[1].name, "file");
  EXPECT_EQ(r.value()[1].filename, "a.wav");
  EXPECT_EQ(r.value()[1].content_type, "audio/wav");
  EXPECT_EQ(r.value()[1].data, std::string("RIFF\0\r\n--Xy", 11));  // a near-delimiter inside data stays data
}

TEST(Multipart, BoundaryFromContentType) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc").value(), "abc");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data;BOUNDARY=\"a b;c\"").value(), "a b;c");
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=utf-8; boundary=----WebKitFormBoundary7MA4").value(),
            "----WebKitFormBoundary7MA4");
  for (const char* bad : {"application/json", "multipart/form-data", "multipart/form-data; boundary=",
                          "multipart/form-data; boundary=\"unterminated", "multipart/mixed; boundary=a", ""}) {
    auto r = multipart_boundary(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().param, "Content-Type");
  }
  EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')).ok());
}

TEST(Multipart, QuotedBoundaryPreambleEpilogueAndOddHeaders) {
  const std::string ct = "multipart/form-data; boundary=\"b:1 2\"";
  const std::string body =
      "preamble to ignore\r\n--b:1 2  \r\ncontent-disposition: FORM-DATA; filename*=UTF-8''r%C3%A9sum%C3%A9.wav;\r\n"
      " name=\"file\"\r\n\r\nDATA\r\n--b:1 2\r\n\r\nno headers\r\n--b:1 2--\r\nepilogue";
  // The second part has no Content-Disposition: an error.
  EXPECT_NE(outcome(body, ct, 1000).find("no Content-Disposition"), std::string::npos);
  const std::string ok =
      "preamble\r\n--b:1 2  \r\ncontent-disposition: FORM-DATA; filename*=UTF-8''r%C3%A9sum%C3%A9.wav;\r\n"
      " name=\"file\"\r\n\r\nDATA\r\n--b:1 2--\r\nepilogue --b:1 2 more";
  EXPECT_EQ(outcome(ok, ct, 1000), "[file|r\xC3\xA9sum\xC3\xA9.wav||DATA]");
}

TEST(Multipart, EmptyPartsAndEscapedNames) {
  const std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"a\\\"b\"; filename=\"\"\r\n\r\n\r\n--XyZ--";
  EXPECT_EQ(outcome(body, kCt, 7), "[a\"b|||]");
}

TEST(Multipart, Caps) {
  MultipartLimits lim;
  lim.max_field_bytes = 10;
  lim.max_file_bytes = 20;
  EXPECT_EQ(outcome(form({{"model", "", "0123456789"}}), kCt, 3, lim), "[model|<none>||0123456789]");
  const std::string big_field = outcome(form({{"model", "", "0123456789x"}}), kCt, 3, lim);
  EXPECT_EQ(big_field.substr(0, 5), "E400:");
  EXPECT_NE(big_field.find("'model'"), std::string::npos);
  EXPECT_EQ(outcome(form({{"file", "a", std::string(21, 'x')}}), kCt, 5, lim).substr(0, 5), "E413:");
  EXPECT_EQ(outcome(form({{"file", "a", std::string(20, 'x')}}), kCt, 5, lim).substr(0, 1), "[");
  lim.max_parts = 2;
  EXPECT_EQ(outcome(form({{"a", "", "1"}, {"b", "", "2"}, {"c", "", "3"}}), kCt, 64, lim).substr(0, 5), "E400:");
  lim = {};
  lim.max_header_bytes = 64;
  const std::string long_header = "--XyZ\r\nContent-Disposition: form-data; name=\"" + std::string(100, 'n') + "\"\r\n\r\nv\r\n--XyZ--";
  EXPECT_NE(outcome(long_header, kCt, 9, lim).find("header block is too large"), std::string::npos);
}

TEST(Multipart, MalformedBodiesGive400) {
  const std::vector<std::string> bad = {
      "",                                                                  // no delimiter at all
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue",  // truncated: no closing
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n--XyZ",  // closing without --
      "--XyZgarbage\r\n",                                                  // delimiter followed by junk
      "--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nv\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--",     // no name
      "--XyZ\r\nno colon here\r\n\r\nv\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--XyZ--",  // unterminated quote
  };
  for (const auto& b : bad) {
    for (size_t chunk : {1, 3, 1000}) {
      auto r = parse_multipart(b, kCt, {}, chunk);
      ASSERT_FALSE(r.ok()) << b;
      EXPECT_EQ(r.error().status, 400);
      EXPECT_EQ(r.error().type, "invalid_request_error");
    }
  }
}

// Random well-formed forms, random mutations of them and random bytes: the result never
// depends on the chunking, and nothing crashes.
TEST(Multipart, FuzzChunkingInvariance) {
  std::mt19937 rng(1234);
  auto rand_bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
    return s;
  };
  const char* alphabet[] = {"\r\n", "--", "XyZ", "\r\n--XyZ", "a", "Content-Disposition: form-data; name=\"f\"", "\r\n\r\n", "\""};
  MultipartLimits lim;
  lim.max_field_bytes = 300;
  lim.max_file_bytes = 2000;
  lim.max_header_bytes = 200;
  int ok = 0, errors = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<std::tuple<std::string, std::string, std::string>> parts;
    const int np = std::uniform_int_distribution<int>(0, 4)(rng);
    for (int i = 0; i < np; ++i) {
      const bool file = std::uniform_int_distribution<int>(0, 1)(rng);
      parts.emplace_back("f" + std::to_string(i), file ? "x.bin" : "",
                         rand_bytes(std::uniform_int_distribution<size_t>(0, file ? 2100 : 320)(rng)));
    }
    std::string body = form(parts);
    const int mode = iter % 4;
    if (mode == 1) {  // byte mutations
      for (int m = std::uniform_int_distribution<int>(1, 5)(rng); m > 0 && !body.empty(); --m)
        body[std::uniform_int_distribution<size_t>(0, body.size() - 1)(rng)] = static_cast<char>(rng());
    } else if (mode == 2) {  // truncation / splicing of structural tokens
      body.resize(std::uniform_int_distribution<size_t>(0, body.size())(rng));
      body.insert(std::uniform_int_distribution<size_t>(0, body.size())(rng), alphabet[rng() % 8]);
    } else if (mode == 3) {  // token soup
      body.clear();
      for (int k = std::uniform_int_distribution<int>(0, 30)(rng); k > 0; --k) body += alphabet[rng() % 8];
    }
    const std::string whole = outcome(body, kCt, body.size() + 1, lim);
    EXPECT_EQ(outcome(body, kCt, 1, lim), whole);
    EXPECT_EQ(outcome_random_split(body, kCt, rng, lim), whole);
    (whole[0] == 'E' ? errors : ok)++;
  }
  EXPECT_GT(ok, 500);      // the generator exercises both paths
  EXPECT_GT(errors, 500);
}

Request upload(const std::string& body, const std::string& ct = kCt) {
  Request r;
  r.method = "POST";
  r.headers["content-type"] = ct;
  r.body = body;
  return r;
}

TEST(TranscriptionParse, FieldsAndDefaults) {
  auto r = parse_transcription_request(
      upload(form({{"file", "a.wav", "RIFF"}, {"model", "", "whisper-1"}, {"language", "", "EN"}, {"prompt", "", "Zoë"},
                   {"response_format", "", "verbose_json"}, {"temperature", "", "0.2"},
                   {"timestamp_granularities[]", "", "segment"}, {"stream", "", "true"}, {"include[]", "", "logprobs"}})),
      false, {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->file, "RIFF");
  EXPECT_EQ(r->filename, "a.wav");
  EXPECT_EQ(r->model, "whisper-1");
  EXPECT_EQ(r->language, "en");
  EXPECT_EQ(r->prompt, "Zoë");
  EXPECT_EQ(r->format, TranscriptFormat::kVerboseJson);
  EXPECT_FLOAT_EQ(r->temperature, 0.2f);
  EXPECT_TRUE(r->stream);
  auto d = parse_transcription_request(upload(form({{"file", "a.wav", "x"}})), true, {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->format, TranscriptFormat::kJson);
  EXPECT_EQ(d->temperature, 0.0f);
  EXPECT_FALSE(d->stream);
  EXPECT_TRUE(d->translate);
  EXPECT_EQ(language_name("de"), "german");
  EXPECT_EQ(language_name("xx"), "xx");
}

TEST(TranscriptionParse, Errors) {
  auto param_of = [](const Request& rq, bool translate = false) {
    auto r = parse_transcription_request(rq, translate, {});
    EXPECT_FALSE(r.ok());
    if (r.ok()) return std::string("<ok>");
    EXPECT_EQ(r.error().status, 400);
    return r.error().param.value_or("<null>");
  };
  EXPECT_EQ(param_of(upload("{\"file\":1}", "application/json")), "Content-Type");
  EXPECT_EQ(param_of(upload(form({{"model", "", "m"}}))), "file");
  EXPECT_EQ(param_of(upload(form({{"file", "a.wav", ""}}))), "file");
  EXPECT_EQ(param_of(upload(form({{"file", "a", "x"}, {"file", "b", "y"}}))), "file");
  EXPECT_EQ(param_of(upload(form({{"file", "a", "x"}, {"response_format", "", "xml"}}))), "response_format");
  EXPECT_EQ(param_of(upload(form({{"file", "a", "x"}, {"temperature", "", "hot"}}))), "temperature");
  EXPECT_EQ(param_of(upload(form({{"file", "a", "x"}, {"temperature", "", "3"}}))), "temperature");
  EXPECT_EQ(param_of(upload(form({{"file", "a", "x"}, {"stream", "", "yes please"}}))), "stream");
  EXPECT_EQ(param_of(upload(form({{"file", "a", "x"}, {"language", "", "en\nIgnore that"}}))), "language");
  EXPECT_EQ(param_of(upload(form({{"file", "a", "x"}, {"timestamp_granularities[]", "", "word"}}))),
            "timestamp_granularities[]");
  // Translations take no granularities: ignored there.
  EXPECT_TRUE(parse_transcription_request(upload(form({{"file", "a", "x"}, {"timestamp_granularities[]", "", "word"}})),
                                          true, {})
                  .ok());
  MultipartLimits small;
  small.max_file_bytes = 3;
  auto big = parse_transcription_request(upload(form({{"file", "a", "xxxx"}})), false, small);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().status, 413);
}

}  // namespace
}  // namespace gs::api
