// Conduit guide, "Stream Info".
//
// What the server knows about each channel: name, owner ("server" or the owning client's
// session id), messages and bytes that went through, current subscribers and publishers, whether
// it is active, and its registry entry (every channel is also a stream in GET /streams). The
// same list is served as GET /channels on the HTTP port and by `sluice channels`.
//
// One server-owned channel with two subscribers, one client-owned channel with none.
//
//   conduit_stream_info [--wire-port 0] [--http-port 0]
//
// Prints the info of "sensors", then one line per channel: "<name>: N subscribers".
#include "server_support.hpp"

using namespace examples;

int main(int argc, char** argv) {
  Args args(argc, argv);
  sluice::Server server(local_config(args));
  server.start();
  must(server.create_channel("sensors"), "create sensors");

  auto client = connect(server, "info-client");
  auto first = must(client->subscribe("sensors"), "subscribe");
  auto second = must(client->subscribe("sensors"), "subscribe");
  auto camera = must(client->publish("camera.front"), "publish camera.front");
  must(camera.send("frame 0"), "send");
  must(camera.send("frame 1"), "send");
  if (!eventually([&] {
        auto c = server.channel("camera.front");
        return server.channel("sensors")->subscribers == 2 && c && c->message_count == 2;
      })) {
    fail("the client's streams did not arrive");
  }
  for (int i = 0; i < 3; ++i)
    must(server.push("sensors", "21." + std::to_string(i)), "push");

  // Get stream info
  auto info = must(server.channel("sensors"), "channel info");
  std::printf("Name: %s\n", info.name.c_str());
  std::printf("Owner: %s\n", info.owner.c_str());
  std::printf("Messages sent: %lu (%lu bytes)\n", static_cast<unsigned long>(info.message_count),
              static_cast<unsigned long>(info.bytes));
  std::printf("Subscribers: %zu\n", info.subscribers);
  std::printf("Active: %s\n", info.active ? "true" : "false");
  std::printf("Registry stream id: %s\n", info.registry_id.c_str());

  // List all streams
  for (const auto& c : server.channels()) {
    std::printf("%s: %zu subscribers, owner %s\n", c.name.c_str(), c.subscribers, c.owner.c_str());
  }

  client->close();
  server.stop();
  return 0;
}
