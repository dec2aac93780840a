// /ws client frames through the hub protocol core, with a responder and an observer attached.
#include <cstdint>
#include <string_view>

#include "hub/client_session.hpp"
#include "hub/hub.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static sluice::hub::Hub hub;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::size_t sent = 0;
  sluice::hub::ClientSession session(hub, [&](std::string frame) { sent += frame.size(); });
  session.on_frame(R"({"op":"sub","sid":"all","subject":">"})");
  // Feed the input whole, then line by line (several frames in one input).
  session.on_frame(text);
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    session.on_frame(text.substr(start, nl - start));
    start = nl + 1;
  }
  return 0;
}
