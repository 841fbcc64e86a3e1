// The `uad` command-line tool (placeholder entry point until the CLI issue lands).
#include <cstdio>

int main(int argc, char** argv) {
  std::puts("uad: no subcommands yet");
  return 0;
}
