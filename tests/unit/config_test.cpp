#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/config.hpp"

namespace sluice {
namespace {

Config load(std::vector<const char*> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "sluiced");
  auto outcome = load_config(static_cast<int>(args.size()), args.data(), env);
  return std::get<Config>(outcome);
}

TEST(Config, DefaultsMatchTheIssue) {
  auto c = load({});
  EXPECT_EQ(c.http.host, "0.0.0.0");
  EXPECT_EQ(c.http.port, 8080);
  EXPECT_EQ(c.stream_ttl.count(), 30);
  EXPECT_EQ(c.request_timeout.count(), 5000);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_format, "text");
  EXPECT_TRUE(c.history_path().ends_with("/history.db"));
}

TEST(Config, FlagsBeatEnvironmentWhichBeatsTheFile) {
  std::string path = ::testing::TempDir() + "/sluice_config_test.toml";
  {
    std::ofstream f(path);
    f << "http = \"127.0.0.1:9000\"\nstream_ttl = 12\nlog-format = \"json\"\nrequest-timeout = "
         "2.5\n";
  }
  auto c =
      load({"--config", path.c_str(), "--stream-ttl", "7"}, {{"SLUICE_HTTP", "127.0.0.1:9100"}});
  EXPECT_EQ(c.http.port, 9100);        // env over file
  EXPECT_EQ(c.stream_ttl.count(), 7);  // flag over file
  EXPECT_EQ(c.log_format, "json");     // file over default
  EXPECT_EQ(c.request_timeout.count(), 2500);
  std::remove(path.c_str());
}

TEST(Config, BadValuesAreClearErrors) {
  EXPECT_THROW(load({"--http", "nohost"}), ConfigError);
  EXPECT_THROW(load({"--http", "1.2.3.4:99999"}), ConfigError);
  EXPECT_THROW(load({"--stream-ttl", "soon"}), ConfigError);
  EXPECT_THROW(load({"--log-format", "xml"}), ConfigError);
  try {
    load({"--stream-ttl", "0"});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("stream-ttl"), std::string::npos);
  }
}

TEST(Config, UnknownKeysInTheFileAreRejected) {
  std::string path = ::testing::TempDir() + "/sluice_config_typo.toml";
  {
    std::ofstream f(path);
    f << "stream_tll = 5\n";
  }
  EXPECT_THROW(load({"--config", path.c_str()}), ConfigError);
  std::remove(path.c_str());
}

TEST(Config, HistoryMayBeInMemory) {
  EXPECT_EQ(load({"--history", ":memory:"}).history_path(), ":memory:");
}

TEST(Config, StreamKeySettings) {
  auto c = load({"--data-dir", "/var/lib/sluice"});
  EXPECT_EQ(c.key_secret_path(), "/var/lib/sluice/key-secret");
  EXPECT_TRUE(c.admin_token.empty());
  EXPECT_FALSE(c.dev_key);
  EXPECT_EQ(load({"--key-secret-file", "/etc/sluice/secret"}).key_secret_path(),
            "/etc/sluice/secret");
  EXPECT_TRUE(load({"--dev-key"}).dev_key);
  EXPECT_TRUE(load({}, {{"SLUICE_DEV_KEY", "true"}}).dev_key);
  EXPECT_FALSE(load({}, {{"SLUICE_DEV_KEY", "false"}}).dev_key);
  EXPECT_EQ(load({}, {{"SLUICE_ADMIN_TOKEN", "0123456789abcdef-token"}}).admin_token,
            "0123456789abcdef-token");

  std::string path = ::testing::TempDir() + "/sluice_admin_token";
  {
    std::ofstream f(path);
    f << "from-a-file-0123456789\n";
  }
  EXPECT_EQ(load({"--admin-token", ("@" + path).c_str()}).admin_token, "from-a-file-0123456789");
  std::remove(path.c_str());
  EXPECT_THROW(load({"--admin-token", ("@" + path).c_str()}), ConfigError);  // unreadable
  EXPECT_THROW(load({"--admin-token", "short"}), ConfigError);
  EXPECT_THROW(load({"--admin-token", "has a space in it, too long"}), ConfigError);
  EXPECT_THROW(load({}, {{"SLUICE_DEV_KEY", "maybe"}}), ConfigError);
}

}  // namespace
}  // namespace sluice
