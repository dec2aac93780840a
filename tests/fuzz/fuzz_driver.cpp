// Stand-in for libFuzzer when the compiler is not clang: runs the target over the seed corpus
// and then over deterministic mutations of it, so `make test` exercises every parser with
// hostile bytes. Usage: fuzz_x [iterations] [seed files...]
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  long iterations = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 10000;
  std::vector<std::string> corpus;
  for (int i = 2; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    corpus.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  if (corpus.empty()) corpus.emplace_back("{}");
  for (const auto& c : corpus) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(c.data()), c.size());
  }
  std::mt19937_64 rng(20261121);
  const std::string tokens[] = {"{", "}",    "[",     "]",  "\"",      ":",
                                ",", "null", "1e999", "-1", "\\u0000", "\xff",
                                ".", "*",    ">",     "%",  "/",       "9999999999999999999"};
  for (long i = 0; i < iterations; ++i) {
    std::string input = corpus[rng() % corpus.size()];
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = input.empty() ? 0 : rng() % (input.size() + 1);
      switch (rng() % 4) {
        case 0:
          if (!input.empty() && at < input.size()) input[at] = static_cast<char>(rng());
          break;
        case 1:
          input.insert(at, tokens[rng() % std::size(tokens)]);
          break;
        case 2:
          if (at < input.size()) input.erase(at, 1 + rng() % 8);
          break;
        case 3:
          input = input.substr(0, at);
          break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  }
  std::cout << "ran " << corpus.size() << " seeds and " << iterations << " mutations\n";
  return 0;
}
