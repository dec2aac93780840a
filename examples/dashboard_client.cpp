// Conduit guide, "Complete Example: Live Dashboard" — the client (dashboard_client.py).
//
// Connects to a dashboard_server as a relay user, subscribes to "system_metrics" and prints
// each update. Only the client library is needed (it links sluice_client, not the server).
//
//   dashboard_client [--host 127.0.0.1] [--port 7070] [--updates 5]
//                    [--user dashboard] [--password secret]
//
// Prints "Monitoring system metrics...", one "CPU: ...% | Memory: ...% | Disk: ...%" line per
// update, then "dashboard: N updates received"; exits 1 if no update comes within 5 s.
#include <boost/json.hpp>

#include "support.hpp"

namespace json = boost::json;
using namespace examples;

int main(int argc, char** argv) {
  Args args(argc, argv);
  const long updates = args.get("--updates", 5L);
  auto options = wire_at(args.get("--host", std::string("127.0.0.1")),
                         static_cast<std::uint16_t>(args.get("--port", 7070L)), "dashboard");
  options.user = args.get("--user", std::string("dashboard"));
  options.password = args.get("--password", std::string("secret"));
  auto client = connect(options);

  sluice::client::SubscribeOptions subscribe;
  subscribe.last_value = true;  // start with the latest update rather than wait for the next
  auto metrics = must(client->subscribe("system_metrics", subscribe), "subscribe");

  std::printf("Monitoring system metrics...\n");
  long received = 0;
  while (received < updates) {
    auto message = metrics.receive(5s);
    if (!message) fail("no update within 5 s");
    auto data = json::parse(message->data).as_object();
    std::printf("CPU: %.1f%% | Memory: %.1f%% | Disk: %.1f%%\n", data["cpu"].to_number<double>(),
                data["memory"].to_number<double>(), data["disk"].to_number<double>());
    ++received;
  }
  std::printf("dashboard: %ld updates received\n", received);
  metrics.close();
  client->close();
  return 0;
}
