// STT chapter, "Common Patterns: Request-Response" (rpc_call over a dedicated stream).
//
// STT's rpc_call opens an ephemeral stream, sends, waits for one answer with a timeout and closes
// the stream. sluice has request/reply built in: Session::request() sends on a request stream
// (opened once per channel and reused), matches the answer by token, and fails with 503 when
// nobody answers and 504 on timeout. Answers come from a server handler (Server::handle) or from
// another client (Session::respond), whichever is registered for the channel.
//
//   stt_request_response [--wire-port 0] [--http-port 0]
//
// Prints "rpc.upper(hello) = HELLO" (answered by the server), "rpc.reverse(stream) = maerts"
// (answered by another client), then the 503 and 504 cases.
#include <cctype>

#include "server_support.hpp"

using namespace examples;

int main(int argc, char** argv) {
  Args args(argc, argv);
  sluice::Server server(local_config(args));
  server.start();

  // A method served by the server itself.
  auto upper = [](const sluice::ClientMessage& m) {
    std::string out(m.data);
    for (char& c : out)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
  };
  must(server.handle("rpc.upper", upper), "register rpc.upper");

  // Methods served by another client (on its I/O thread). Opened in this order, rpc.slow is in
  // place once rpc.reverse answers.
  auto worker = connect(server, "worker");
  auto too_slow = [](const sluice::client::Message&) {
    std::this_thread::sleep_for(300ms);
    return std::string("late");
  };
  auto reversed = [](const sluice::client::Message& m) {
    return std::string(m.data.rbegin(), m.data.rend());
  };
  auto slow = must(worker->respond("rpc.slow", too_slow), "respond on rpc.slow");
  auto reverse = must(worker->respond("rpc.reverse", reversed), "respond on rpc.reverse");

  // rpc_call(request) -> response
  auto caller = connect(server, "caller");
  auto rpc_call = [&](const std::string& method, const std::string& request,
                      std::chrono::milliseconds timeout) {
    auto response = caller->request(method, request, timeout);
    if (response) {
      std::printf("%s(%s) = %s\n", method.c_str(), request.c_str(), response->c_str());
    } else {
      std::printf("%s(%s) failed: %d %s\n", method.c_str(), request.c_str(),
                  response.error().status, response.error().detail.c_str());
    }
    return response.has_value();
  };
  bool ok = rpc_call("rpc.upper", "hello", 10s);
  // The worker's subscription reaches the server asynchronously: retry until it answers.
  ok = ok && eventually([&] { return caller->request("rpc.reverse", "x", 1s).has_value(); });
  ok = ok && rpc_call("rpc.reverse", "stream", 10s);
  ok = ok && !rpc_call("rpc.nobody", "anyone?", 1s);  // 503: no responders
  ok = ok && !rpc_call("rpc.slow", "now", 100ms);     // 504: timed out

  caller->close();
  worker->close();
  server.stop();
  return ok ? 0 : 1;
}
