// The relay's users and tokens files (src/relay/access_files.hpp).
#include "relay/access_files.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace sluice::relay {
namespace {

std::string user_line(const std::string& name, const std::string& password) {
  return name + ":" + wire::scram::to_string(wire::scram::make_credentials(password));
}

TEST(AccessFiles, UsersFileAcceptsCommentsBlankLinesAndPasswdOutput) {
  std::string text =
      "# relay users\n\n" + user_line("alice", "pw1") + "\r\n  " + user_line("bob", "pw2") + "  \n";
  auto users = parse_users(text);
  ASSERT_TRUE(users) << users.error().detail;
  ASSERT_EQ(users->size(), 2u);
  EXPECT_TRUE(users->contains("alice"));
  EXPECT_TRUE(users->contains("bob"));
}

TEST(AccessFiles, BadUserLinesNameTheLineAndNeverTheSecret) {
  auto missing = parse_users("alice\n");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().status, 400);
  EXPECT_NE(missing.error().detail.find("line 1"), std::string::npos);

  auto bad = parse_users("# ok\nalice:SCRAM-SHA-256$4096:bm90IGJhc2U2NA$$\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().detail.find("line 2"), std::string::npos);
  EXPECT_NE(bad.error().detail.find("alice"), std::string::npos);

  auto twice = parse_users(user_line("alice", "a") + "\n" + user_line("alice", "b") + "\n");
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().detail.find("twice"), std::string::npos);
}

TEST(AccessFiles, TokensMustBeLongUniqueAndWithoutSpaces) {
  auto ok = parse_tokens("# tokens\n0123456789abcdef0123\n\nfedcba9876543210fedc\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->size(), 2u);
  EXPECT_FALSE(parse_tokens("short\n"));
  EXPECT_FALSE(parse_tokens("0123456789abcdef 0123\n"));
  auto dup = parse_tokens("0123456789abcdef0123\n0123456789abcdef0123\n");
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().detail.find("line 2"), std::string::npos);
  EXPECT_EQ(dup.error().detail.find("0123456789abcdef"), std::string::npos);
}

TEST(AccessFiles, AnonymousIsOffOnceCredentialsExistUnlessAskedFor) {
  auto none = load_access({});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->allow_anonymous);

  auto dir =
      std::filesystem::temp_directory_path() / ("sluice-access-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto tokens = (dir / "tokens").string();
  std::ofstream(tokens) << "0123456789abcdef0123\n";

  AccessSettings settings;
  settings.tokens_file = tokens;
  auto with_tokens = load_access(settings);
  ASSERT_TRUE(with_tokens);
  EXPECT_FALSE(with_tokens->allow_anonymous);
  EXPECT_EQ(with_tokens->tokens.size(), 1u);

  settings.anonymous = true;
  auto explicit_anonymous = load_access(settings);
  ASSERT_TRUE(explicit_anonymous);
  EXPECT_TRUE(explicit_anonymous->allow_anonymous);

  AccessSettings missing_file;
  missing_file.users_file = (dir / "nope").string();
  auto missing = load_access(missing_file);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().detail.find("nope"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::relay
