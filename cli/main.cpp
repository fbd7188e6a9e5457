// gemma3n-cli: developer and user tools around the runtime (dump, greedy, generate, tokenize, bench, ...).
#include <cstdio>
#include <cstring>
#include <exception>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

namespace {
struct Command {
  const char* name;
  int (*fn)(int, char**);
  const char* help;
};

constexpr Command kCommands[] = {
    {"dump", gs::cli::cmd_dump, "write logits.npy / hidden_states.npy for token ids (parity checks)"},
    {"greedy", gs::cli::cmd_greedy, "greedy KV-cached decode of token ids, prints {\"tokens\":[...]}"},
    {"generate", gs::cli::cmd_generate, "generate text from a prompt or a chat (same engine as the server)"},
    {"random-checkpoint", gs::cli::cmd_random_checkpoint, "write a random-weight checkpoint (HF layout)"},
    {"memory-report", gs::cli::cmd_memory_report, "resident memory: text, first image, first audio, idle unload"},
    {"bench", gs::cli::cmd_bench, "prefill/decode throughput and peak RSS (llama-bench style)"},
    {"tokenize", gs::cli::cmd_tokenize, "UTF-8 text on stdin -> {\"ids\":[...]}"},
    {"detokenize", gs::cli::cmd_detokenize, "{\"ids\":[...]} on stdin -> text"},
    {"chat-template", gs::cli::cmd_chat_template, "JSON messages on stdin -> {\"text\",\"ids\"} (Gemma 3n chat format)"},
};

void usage() {
  std::fprintf(stderr, "usage: gemma3n-cli <command> [options]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(stderr, "  %-18s %s\n", c.name, c.help);
  std::fprintf(stderr, "\nRun 'gemma3n-cli <command> --help' for a command's options.\n");
}
}  // namespace

int main(int argc, char** argv) {
  // stdout carries the commands' results (JSON for dump/greedy/tokenize/bench); logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("gemma3n-cli"));
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) == 0) {
      try {
        return c.fn(argc - 1, argv + 1);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "gemma3n-cli %s: %s\n", c.name, e.what());
        return 1;
      }
    }
  }
  std::fprintf(stderr, "gemma3n-cli: unknown command '%s'\n", argv[1]);
  usage();
  return 2;
}
