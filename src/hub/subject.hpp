#pragma once
// Subjects are '.'-separated tokens ("maestra.stream.advertise.video"). A pattern may use '*' for
// exactly one token and '>' (last token only) for one or more remaining tokens — NATS semantics.
#include <string>
#include <string_view>
#include <vector>

namespace sluice::hub {

// A concrete subject for publishing: non-empty tokens, no wildcards, no whitespace, ≤ 1024 bytes.
bool is_valid_subject(std::string_view subject);
// A subscription pattern: like a subject, plus '*' tokens and a final '>'.
bool is_valid_pattern(std::string_view pattern);
// True when `subject` is matched by `pattern`. Both are assumed valid.
bool subject_matches(std::string_view pattern, std::string_view subject);

// True when every subject `inner` matches is also matched by `outer` (both valid patterns or
// subjects): `show.>` covers `show.*.x` and `show.a`; `show.*` does not cover `show.>`.
bool pattern_covers(std::string_view outer, std::string_view inner);

std::vector<std::string_view> split_tokens(std::string_view subject);

}  // namespace sluice::hub
