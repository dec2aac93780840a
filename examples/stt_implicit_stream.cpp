// STT chapter, "Implicit Stream 0".
//
// In sluice, stream 0 is the session itself, as in STT, but it carries only the session's own
// control traffic: the handshake (HELLO/AUTH/WELCOME), keepalive PING/PONG (which also measures
// the round-trip time), connection-level WINDOW_UPDATE and GOAWAY. DATA on stream 0 is a
// protocol error: every message travels on a stream bound to a channel. The nearest
// equivalents of "send without choosing a stream" are therefore:
// - Session::request(), which opens (and reuses) a request stream for you, and
// - Server::push(), which reaches every session subscribed to a channel — STT's
//   send_to_sessions([ids], data) when each of those sessions listens on the channel.
//
//   stt_implicit_stream [--wire-port 0] [--http-port 0]
//
// Prints "handshake done on stream 0", "stream 0 keepalive: rtt ...", "request on an implicit
// stream: ..." and "pushed to 2 sessions".
#include "server_support.hpp"

using namespace examples;

int main(int argc, char** argv) {
  Args args(argc, argv);
  sluice::Server server(local_config(args));
  server.start();
  must(server.handle("echo", [](const sluice::ClientMessage& m) { return std::string(m.data); }),
       "register echo");

  // connect() returns once HELLO and WELCOME have crossed on stream 0.
  auto a = connect(server, "peer-a");
  auto b = connect(server, "peer-b");
  std::printf("handshake done on stream 0 (%s)\n", a->connected() ? "connected" : "not connected");

  // Keepalive runs on stream 0 by itself: the first PING leaves min(server lease / 3, 5 s) after
  // the handshake, and its PONG gives the round-trip time.
  if (!eventually([&] { return a->rtt().has_value(); }, 8s)) fail("no PONG on stream 0");
  std::printf("stream 0 keepalive: rtt %.0f us\n",
              std::chrono::duration<double, std::micro>(*a->rtt()).count());

  // "Send without specifying a stream": the session opens the request stream itself.
  auto reply = must(a->request("echo", "Data", 2s), "request");
  std::printf("request on an implicit stream: sent Data, got %s\n", reply.c_str());

  // STT's send_to_sessions([a, b], b"Data"): both sessions listen on one channel.
  must(server.create_channel("sessions.all", unadvertised()), "create sessions.all");
  auto to_a = must(a->subscribe("sessions.all"), "subscribe a");
  auto to_b = must(b->subscribe("sessions.all"), "subscribe b");
  if (!eventually([&] { return server.channel("sessions.all")->subscribers == 2; })) {
    fail("the subscriptions did not arrive");
  }
  auto count = must(server.push("sessions.all", "Data"), "push");
  auto got_a = to_a.receive(2s);
  auto got_b = to_b.receive(2s);
  std::printf("pushed to %zu sessions: a got %s, b got %s\n", count,
              got_a ? got_a->data.c_str() : "nothing", got_b ? got_b->data.c_str() : "nothing");

  a->close();
  b->close();
  server.stop();
  return got_a && got_b ? 0 : 1;
}
