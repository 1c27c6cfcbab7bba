// edgerun_config_reference: prints the key tables of config/README.md from
// the config schema (config_schema.hpp), or with --update FILE rewrites them
// in FILE, between its marker lines. A test (test_config_schema.cpp) fails
// while the committed README differs from what this prints.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "config_schema.hpp"

int main(int argc, char** argv) {
  const std::string reference = edgerun::config_reference(edgerun::config_schema());
  if (argc == 1) {
    std::fputs(reference.c_str(), stdout);
    return 0;
  }
  if (argc != 3 || std::string_view(argv[1]) != "--update") {
    std::fputs("usage: edgerun_config_reference [--update config/README.md]\n", stderr);
    return 2;
  }
  std::ostringstream text;
  text << std::ifstream(argv[2], std::ios::binary).rdbuf();
  const std::string updated = edgerun::with_reference(text.str(), reference);
  if (updated.empty()) {
    std::fprintf(stderr, "edgerun_config_reference: %s lacks the marker lines of the generated tables\n", argv[2]);
    return 1;
  }
  std::ofstream(argv[2], std::ios::binary | std::ios::trunc) << updated;
  return 0;
}
