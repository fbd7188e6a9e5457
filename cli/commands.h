// Subcommands of gemma3n-cli; each lives in its own cmd_*.cpp and returns a process exit code.
#pragma once

namespace gs::cli {
int cmd_dump(int argc, char** argv);
int cmd_greedy(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_random_checkpoint(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_memory_report(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_detokenize(int argc, char** argv);
int cmd_chat_template(int argc, char** argv);
}  // namespace gs::cli
