#include <gtest/gtest.h>

#include "core/ids.hpp"
#include "core/time_format.hpp"

namespace sluice {
namespace {

TEST(Ids, Uuid4IsCanonicalAndRandom) {
  auto a = new_uuid4();
  auto b = new_uuid4();
  EXPECT_EQ(a.size(), 36u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a[14], '4');
  EXPECT_EQ(canonical_uuid(a), a);
}

TEST(Ids, Uuid5IsStableAndNameDependent) {
  const char* ns = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";  // RFC 4122 DNS namespace
  EXPECT_EQ(uuid5(ns, "python.org"), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  EXPECT_NE(uuid5(ns, "a"), uuid5(ns, "b"));
}

TEST(Ids, CanonicalUuidAcceptsFastApiFormsAndRejectsOthers) {
  EXPECT_EQ(canonical_uuid("886313E1-3B8A-5372-9B90-0C9AEE199E5D"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  EXPECT_EQ(canonical_uuid("886313e13b8a53729b900c9aee199e5d"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  EXPECT_EQ(canonical_uuid("{886313e1-3b8a-5372-9b90-0c9aee199e5d}"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d");
  EXPECT_FALSE(canonical_uuid("not-a-uuid"));
  EXPECT_FALSE(canonical_uuid(""));
  EXPECT_FALSE(canonical_uuid("886313e1-3b8a-5372-9b90-0c9aee199e5"));
  EXPECT_FALSE(canonical_uuid("886313e1+3b8a-5372-9b90-0c9aee199e5d"));
}

TEST(Time, FormatsMaestraStyle) {
  auto t = from_unix_seconds(1774175400.123456);
  EXPECT_EQ(format_timestamp(t), "2026-03-22T10:30:00.123456Z");
  EXPECT_EQ(format_timestamp(from_unix_seconds(0)), "1970-01-01T00:00:00.000000Z");
  auto last = *parse_timestamp("2024-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_timestamp(last), "2024-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_timestamp(*parse_timestamp("2024-02-29T07:08:09Z")),
            "2024-02-29T07:08:09.000000Z");
}

TEST(Time, ParsesIsoVariants) {
  auto base = parse_timestamp("2026-03-22T10:30:00Z");
  ASSERT_TRUE(base);
  EXPECT_EQ(format_timestamp(*base), "2026-03-22T10:30:00.000000Z");
  EXPECT_EQ(parse_timestamp("2026-03-22T12:30:00+02:00"), base);
  EXPECT_EQ(parse_timestamp("2026-03-22 10:30:00"), base);
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-03-22T10:30:00.5Z")),
            "2026-03-22T10:30:00.500000Z");
  EXPECT_TRUE(parse_timestamp("2026-03-22"));
  EXPECT_FALSE(parse_timestamp("yesterday"));
  EXPECT_FALSE(parse_timestamp("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_timestamp("2026-02-30"));
}

}  // namespace
}  // namespace sluice
