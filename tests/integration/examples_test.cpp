// The programs in examples/ (C++ equivalents of the Conduit guide and the STT chapter), each run
// as a subprocess the way a reader would run it, with ephemeral ports. A test passes when the
// program exits 0 within its time limit AND printed what it promises: the lines checked here
// are the ones each example's header comment announces.
//
// SLUICE_EXAMPLES_DIR (compile definition) is the directory holding the example binaries;
// SLUICE_EXAMPLES_README is examples/README.md.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "daemon_fixture.hpp"

namespace sluice::testing {
namespace {

std::string example(const std::string& name) {
  return std::string(SLUICE_EXAMPLES_DIR) + "/" + name;
}

// Runs an example with --wire-port 0 --http-port 0 (for those that host a server) and `args`.
CommandResult run_example(const std::string& name, std::vector<std::string> args = {},
                          std::chrono::milliseconds timeout = 60s) {
  std::vector<std::string> argv{example(name)};
  if (name != "dashboard_client") argv.insert(argv.end(), {"--wire-port", "0", "--http-port", "0"});
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout);
}

bool has_line(const std::string& out, const std::string& line) {
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

// The lines of `out` that match `pattern` completely, with their capture groups.
std::vector<std::smatch> matching_lines(const std::string& out, const std::string& pattern,
                                        std::vector<std::string>& storage) {
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);)
    storage.push_back(l);
  std::vector<std::smatch> found;
  const std::regex re(pattern);
  for (const auto& l : storage) {
    std::smatch m;
    if (std::regex_match(l, m, re)) found.push_back(m);
  }
  return found;
}

std::size_t count_matching(const std::string& out, const std::string& pattern) {
  std::vector<std::string> storage;
  return matching_lines(out, pattern, storage).size();
}

std::size_t position(const std::string& out, const std::string& text) {
  auto at = out.find(text);
  EXPECT_NE(at, std::string::npos) << "missing: " << text << "\n" << out;
  return at;
}

#define ASSERT_RAN(result) \
  ASSERT_EQ((result).exit_code, 0) << "stdout:\n" << (result).out << "stderr:\n" << (result).err

// ------------------------------------------------------------------------- Conduit guide

TEST(Examples, ConduitSensorsServerPushesAndClientIterates) {
  auto r = run_example("conduit_sensors", {"--readings", "5", "--interval-ms", "50"});
  ASSERT_RAN(r);
  EXPECT_EQ(count_matching(r.out, R"(Temp: \d+\.\d°C  Humidity: \d+\.\d%)"), 5u) << r.out;
  EXPECT_TRUE(has_line(r.out, "client received 5 readings")) << r.out;
}

TEST(Examples, ConduitClientStreamsFramesToServerHandler) {
  auto r = run_example("conduit_client_frames", {"--frames", "20", "--fps", "100"});
  ASSERT_RAN(r);
  EXPECT_TRUE(has_line(r.out, "client sent 20 frames of 160x120 at 100 fps")) << r.out;
  EXPECT_EQ(count_matching(r.out, R"(server processed 20 frames from 1 client\(s\), mean )"
                                  R"(brightness \d+\.\d, worst latency \d+\.\d ms)"),
            1u)
      << r.out;
}

TEST(Examples, ConduitLifecycleNotifiesPushesAndCloses) {
  auto r = run_example("conduit_lifecycle");
  ASSERT_RAN(r);
  auto subscribed = position(r.out, "New subscriber: ");
  auto sent = position(r.out, "Sent to 1 subscribers\n");
  auto got = position(r.out, "subscriber got {\"value\": 42}\n");
  auto lost = position(r.out, "Lost subscriber: ");
  auto closed = position(r.out, "my_stream closed (no channel named 'my_stream')\n");
  EXPECT_LT(subscribed, sent);
  EXPECT_LT(sent, got);
  EXPECT_LT(got, lost);
  EXPECT_LT(lost, closed);
}

TEST(Examples, ConduitBuffersAccountForEveryLoss) {
  auto r = run_example("conduit_buffers", {"--messages", "1000", "--buffer", "10"});
  ASSERT_RAN(r);
  EXPECT_TRUE(has_line(r.out, "fast subscriber: 1000 received, 0 lost")) << r.out;
  std::vector<std::string> storage;
  auto oldest = matching_lines(
      r.out,
      R"(slow subscriber \(buffer 10, drop-oldest\): (\d+) received, (\d+) lost, last )"
      R"(sequence 1000)",
      storage);
  ASSERT_EQ(oldest.size(), 1u) << r.out;
  const long received = std::stol(oldest[0][1]);
  EXPECT_LT(received, 1000) << "the slow subscriber's buffer never overflowed";
  EXPECT_EQ(received + std::stol(oldest[0][2]), 1000);
  EXPECT_EQ(count_matching(r.out, R"(slow subscriber \(buffer 10, drop-newest\): \d+ received, )"
                                  R"(\d+ refused)"),
            1u);
  EXPECT_EQ(count_matching(r.out, R"(push\(\) returned [23] for \d+ messages)"), 2u) << r.out;
  EXPECT_TRUE(has_line(r.out, "every loss accounted for")) << r.out;
}

TEST(Examples, ConduitStreamInfoDescribesChannels) {
  auto r = run_example("conduit_stream_info");
  ASSERT_RAN(r);
  for (const char* line :
       {"Name: sensors", "Owner: server", "Messages sent: 3 (12 bytes)", "Subscribers: 2",
        "Active: true", "sensors: 2 subscribers, owner server"}) {
    EXPECT_TRUE(has_line(r.out, line)) << "missing: " << line << "\n" << r.out;
  }
  EXPECT_EQ(count_matching(r.out, R"(Registry stream id: [0-9a-f-]{36})"), 1u) << r.out;
  // A client-owned channel names the owning session.
  EXPECT_EQ(count_matching(r.out, R"(camera\.front: 0 subscribers, owner (?!server)\S+)"), 1u)
      << r.out;
}

// The live dashboard is two programs: the server prints its port, the client connects to it with
// the password, and the server (--once) stops when its dashboard has left.
TEST(Examples, LiveDashboardServerAndClient) {
  ChildProcess server;
  ASSERT_TRUE(server.spawn({example("dashboard_server"), "--wire-port", "0", "--http-port", "0",
                            "--interval-ms", "100", "--once", "--password", "s3cret"}));
  auto line = server.wait_for_text("dashboard server: wire port ", 15s);
  ASSERT_TRUE(line) << server.stdout_text() << server.stderr_text();
  const std::string port = line->substr(line->rfind(' ') + 1);

  auto wrong = run_example("dashboard_client",
                           {"--port", port, "--password", "guess", "--updates", "1"}, 30s);
  EXPECT_EQ(wrong.exit_code, 1) << wrong.out;
  EXPECT_NE(wrong.err.find("(401)"), std::string::npos) << wrong.err;

  auto client =
      run_example("dashboard_client", {"--port", port, "--password", "s3cret", "--updates", "3"});
  ASSERT_RAN(client);
  EXPECT_TRUE(has_line(client.out, "Monitoring system metrics...")) << client.out;
  EXPECT_EQ(count_matching(client.out, R"(CPU: \d+\.\d% \| Memory: \d+\.\d% \| Disk: \d+\.\d%)"),
            3u)
      << client.out;
  EXPECT_TRUE(has_line(client.out, "dashboard: 3 updates received")) << client.out;

  auto code = server.wait(15s);
  ASSERT_TRUE(code) << "the server did not stop after its dashboard left";
  EXPECT_EQ(*code, 0) << server.stderr_text();
  EXPECT_EQ(count_matching(server.stdout_text(), R"(dashboard server: pushed \d+ updates)"), 1u)
      << server.stdout_text();
}

// ------------------------------------------------------------------------- STT chapter

TEST(Examples, SttManyStreamsShareOneSession) {
  auto r = run_example("stt_many_streams");
  ASSERT_RAN(r);
  std::vector<std::string> storage;
  auto created = matching_lines(
      r.out, R"(Stream (\d+) created for peer\.(control|files|video) \(priority \d+\))", storage);
  ASSERT_EQ(created.size(), 3u) << r.out;
  std::set<long> ids;
  for (const auto& m : created)
    ids.insert(std::stol(m[1]));
  EXPECT_EQ(ids, (std::set<long>{1, 3, 5}));  // client streams have odd ids
  EXPECT_TRUE(has_line(r.out, "server: 3 channels over 1 session(s), 30 messages")) << r.out;
}

TEST(Examples, SttImplicitStreamZeroIsTheSession) {
  auto r = run_example("stt_implicit_stream");
  ASSERT_RAN(r);
  EXPECT_TRUE(has_line(r.out, "handshake done on stream 0 (connected)")) << r.out;
  EXPECT_EQ(count_matching(r.out, R"(stream 0 keepalive: rtt \d+ us)"), 1u) << r.out;
  EXPECT_TRUE(has_line(r.out, "request on an implicit stream: sent Data, got Data")) << r.out;
  EXPECT_TRUE(has_line(r.out, "pushed to 2 sessions: a got Data, b got Data")) << r.out;
}

TEST(Examples, SttSendReceiveTimeoutsAndStates) {
  auto r = run_example("stt_send_receive", {"--messages", "25"});
  ASSERT_RAN(r);
  for (const char* line :
       {"Received: Hello on stream 1", "No data received in 0.5 seconds",
        "continuous reception: 25 messages, then the stream was closed", "Stream closed!",
        "stream.active() = true", "after close(): stream.active() = false",
        "Stream is closed! (stream closed)"}) {
    EXPECT_TRUE(has_line(r.out, line)) << "missing: " << line << "\n" << r.out;
  }
}

TEST(Examples, SttFragmentationReassemblesTenMebibytes) {
  auto r = run_example("stt_fragmentation");
  ASSERT_RAN(r);
  EXPECT_TRUE(has_line(r.out, "sent 10485760 bytes with one send_all()")) << r.out;
  EXPECT_TRUE(has_line(r.out,
                       "received one message of 10485760 bytes in frames of at most 32768 bytes, "
                       "content intact"))
      << r.out;
  EXPECT_EQ(count_matching(r.out, R"(receiver: 1 message\(s\), \d+ bytes)"), 1u) << r.out;
}

TEST(Examples, SttStreamManagerCreatesFindsListsAndCloses) {
  auto r = run_example("stt_stream_manager");
  ASSERT_RAN(r);
  auto exists = position(r.out, "Stream exists\n");
  auto not_found = position(r.out, "Stream not found\n");
  EXPECT_LT(exists, not_found);
  EXPECT_TRUE(has_line(r.out, "Active streams: 4")) << r.out;
  EXPECT_EQ(count_matching(r.out, R"(  Stream \d+ \(managed\.files\): \d+ bytes sent)"), 1u);
  EXPECT_TRUE(has_line(r.out, "pool: 3 tasks, 3 streams acquired and released")) << r.out;
  EXPECT_TRUE(has_line(r.out, "broadcast reached 4 streams")) << r.out;
  EXPECT_TRUE(has_line(r.out, "after close_stream: 3 active")) << r.out;
  EXPECT_TRUE(has_line(r.out, "Active streams: 0")) << r.out;
}

TEST(Examples, SttFileTransferArrivesWhole) {
  auto r = run_example("stt_file_transfer");
  ASSERT_RAN(r);
  EXPECT_EQ(count_matching(r.out, R"(Sending 1048576 bytes on stream 1)"), 1u) << r.out;
  EXPECT_TRUE(has_line(r.out, "Transfer complete! (taken by 1 receiver)")) << r.out;
  EXPECT_TRUE(has_line(r.out, "  Bytes sent: 1048576")) << r.out;
  EXPECT_TRUE(has_line(r.out, "  Messages sent: 1")) << r.out;
  EXPECT_EQ(count_matching(r.out, R"(server: received 1048576 bytes from \S+, checksum ok)"), 1u)
      << r.out;
}

TEST(Examples, SttPrioritiesShareBandwidthAndAdapt) {
  auto r = run_example("stt_priorities");
  ASSERT_RAN(r);
  EXPECT_EQ(count_matching(r.out, R"(round 1: prio\.video \(priority 900\) finished first; .*)"),
            1u)
      << r.out;
  EXPECT_EQ(count_matching(r.out, R"(round 2: prio\.backup \(priority 900\) finished first; .*)"),
            1u)
      << r.out;
}

TEST(Examples, SttStatisticsShowCountersAndWindows) {
  auto r = run_example("stt_statistics", {"--messages", "50"});
  ASSERT_RAN(r);
  EXPECT_EQ(count_matching(r.out, R"(sender stream 1: active true, priority 500)"), 1u) << r.out;
  EXPECT_EQ(count_matching(r.out, R"(  messages_sent 50, messages_received 0, gaps 0)"), 1u);
  EXPECT_EQ(count_matching(r.out, R"(  messages_sent 0, messages_received 50, gaps 0)"), 1u);
  EXPECT_EQ(count_matching(r.out, R"(  Send window: \d+ bytes)"), 2u) << r.out;
  EXPECT_EQ(count_matching(r.out, R"(  Receive window: \d+ bytes)"), 2u) << r.out;
  EXPECT_TRUE(has_line(r.out, "receiver: read 25 of 50, sequence 25")) << r.out;
}

TEST(Examples, SttOrderedDeliveryKeepsOrder) {
  auto r = run_example("stt_ordered_delivery", {"--messages", "1000"});
  ASSERT_RAN(r);
  EXPECT_TRUE(has_line(r.out, "Message 1 (seq=1)")) << r.out;
  EXPECT_TRUE(has_line(r.out, "Message 3 (seq=3)")) << r.out;
  EXPECT_TRUE(has_line(r.out, "1000 messages in order, sequence 1..1000, no gaps")) << r.out;
}

TEST(Examples, SttRequestResponseAnswersAndFailsClearly) {
  auto r = run_example("stt_request_response");
  ASSERT_RAN(r);
  EXPECT_TRUE(has_line(r.out, "rpc.upper(hello) = HELLO")) << r.out;
  EXPECT_TRUE(has_line(r.out, "rpc.reverse(stream) = maerts")) << r.out;
  // The exact texts are the relay's; the status codes and the channel are the contract.
  EXPECT_EQ(count_matching(
                r.out, R"(rpc\.nobody\(anyone\?\) failed: 503 .*no responders on 'rpc\.nobody')"),
            1u)
      << r.out;
  EXPECT_EQ(count_matching(r.out, R"(rpc\.slow\(now\) failed: 504 .*)"), 1u) << r.out;
}

// ------------------------------------------------------------------------- the map

// Every example program is listed in examples/README.md's table.
TEST(Examples, ReadmeMapsEveryProgram) {
  std::ifstream in(SLUICE_EXAMPLES_README);
  ASSERT_TRUE(in) << SLUICE_EXAMPLES_README;
  std::stringstream text;
  text << in.rdbuf();
  std::istringstream programs(SLUICE_EXAMPLE_PROGRAMS);
  int n = 0;
  for (std::string name; programs >> name; ++n) {
    EXPECT_NE(text.str().find("`" + name + "`"), std::string::npos)
        << name << " is not in examples/README.md";
  }
  EXPECT_GE(n, 17);
}

}  // namespace
}  // namespace sluice::testing
