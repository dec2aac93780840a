// Conduit guide, "Setup", "Server Streaming to Clients" and "Client Consuming Streams".
//
// A server owns the channel "sensors" and pushes a reading every --interval-ms from a background
// thread (Conduit's broadcast_sensor_data task); a client subscribes and iterates over the
// readings (Conduit's `async for data in streams.subscribe("sensors")`). Both halves run in this
// process; the client talks to the server over real TCP, exactly as a remote one would.
//
//   conduit_sensors [--readings 5] [--interval-ms 200] [--wire-port 0] [--http-port 0]
//
// Prints one "Temp: ... Humidity: ..." line per reading the client got, then
// "client received N readings".
#include <boost/json.hpp>

#include <atomic>
#include <cmath>
#include <thread>

#include "server_support.hpp"

namespace json = boost::json;
using namespace examples;

namespace {

// Stand-ins for Conduit's read_temperature()/read_humidity(): a slow, smooth drift.
double read_temperature(int tick) {
  return 21.0 + 1.5 * std::sin(tick / 5.0);
}
double read_humidity(int tick) {
  return 45.0 + 5.0 * std::cos(tick / 7.0);
}

double unix_time() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  Args args(argc, argv);
  const long readings = args.get("--readings", 5L);
  const auto interval = std::chrono::milliseconds(args.get("--interval-ms", 200L));

  // ---- server side: Conduit's Server + StreamManager(owner="server") + streams.create(...)
  sluice::Server server(local_config(args));
  server.start();
  must(server.create_channel("sensors"), "create channel 'sensors'");

  std::atomic<bool> running{true};
  std::thread broadcaster([&] {
    for (int tick = 0; running; ++tick) {
      json::object data{{"temperature", read_temperature(tick)},
                        {"humidity", read_humidity(tick)},
                        {"timestamp", unix_time()}};
      // push() returns how many subscribers took the reading (0 before the client subscribed).
      (void)server.push("sensors", json::serialize(data));
      std::this_thread::sleep_for(interval);
    }
  });

  // ---- client side: Conduit's Client + streams.subscribe("sensors")
  auto client = connect(server, "sensor-client");
  sluice::client::SubscribeOptions options;
  options.buffer.max_messages = 100;  // Conduit's buffer_size=100: this subscriber's buffer
  auto sensors = must(client->subscribe("sensors", options), "subscribe to 'sensors'");

  long received = 0;
  while (received < readings) {
    auto message = sensors.receive(5s);
    if (!message) fail("no reading within 5 s");
    auto data = json::parse(message->data).as_object();
    std::printf("Temp: %.1f°C  Humidity: %.1f%%\n", data["temperature"].to_number<double>(),
                data["humidity"].to_number<double>());
    ++received;
  }
  std::printf("client received %ld readings\n", received);

  running = false;
  broadcaster.join();
  client->close();
  server.stop();
  return 0;
}
