#include "wire/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/crypto.hpp"

#include <climits>
#include <stdexcept>
#include <utility>
#include <vector>

namespace sluice::wire::scram {
namespace {

using Key = std::array<std::uint8_t, 32>;

constexpr std::size_t kNonceRandomBytes = 24;
constexpr std::size_t kMaxServerErrorEcho = 128;

Error malformed(std::string detail) {
  return Error::bad_request("SCRAM: " + std::move(detail));
}
Error unauthorized(std::string detail) {
  return Error{401, "SCRAM: " + std::move(detail), {}};
}
Error out_of_order(std::string_view call) {
  return malformed(std::string(call) + " called out of order (or after a failure)");
}

// Shared by the wrong-password and unknown-user paths so they cannot be told apart.
constexpr std::string_view kAuthFailed = "authentication failed";

// ---- crypto helpers -------------------------------------------------------------------------

using crypto::random_bytes;

Key hmac(const void* key, std::size_t key_len, std::string_view data) {
  Key out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key, static_cast<int>(key_len),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &len) == nullptr ||
      len != out.size()) {
    throw std::runtime_error("OpenSSL HMAC-SHA-256 failed");
  }
  return out;
}

Key hmac(const Key& key, std::string_view data) {
  return hmac(key.data(), key.size(), data);
}

Key sha256(const Key& in) {
  Key out{};
  SHA256(in.data(), in.size(), out.data());
  return out;
}

std::string_view view(const Key& k) {
  return {reinterpret_cast<const char*>(k.data()), k.size()};
}

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}
void wipe(Key& k) {
  OPENSSL_cleanse(k.data(), k.size());
}

struct Keys {
  Key client_key{};
  Key stored_key{};
  Key server_key{};
  ~Keys() {
    wipe(client_key);
    wipe(stored_key);
    wipe(server_key);
  }
};

void derive_keys(std::string_view password, std::string_view salt, std::uint32_t iterations,
                 Keys& keys) {
  if (salt.empty()) throw std::invalid_argument("SCRAM: salt must not be empty");
  if (iterations < 1 || iterations > static_cast<std::uint32_t>(INT_MAX)) {
    throw std::invalid_argument("SCRAM: iteration count out of range");
  }
  Key salted{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(salted.size()), salted.data()) != 1) {
    throw std::runtime_error("OpenSSL PBKDF2-HMAC-SHA-256 failed");
  }
  keys.client_key = hmac(salted, "Client Key");
  keys.stored_key = sha256(keys.client_key);
  keys.server_key = hmac(salted, "Server Key");
  wipe(salted);
}

// Per-process key for the fake salts of unknown users: stable within a process, so repeated
// probes for the same name see the same salt, and unpredictable across processes.
const Key& fake_salt_key() {
  static const Key key = [] {
    Key k{};
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) {
      throw std::runtime_error("OpenSSL RAND_bytes failed");
    }
    return k;
  }();
  return key;
}

StoredCredentials fake_credentials(std::string_view username) {
  const Key& key = fake_salt_key();
  StoredCredentials c;
  Key salt = hmac(key, "salt:" + std::string(username));
  c.salt.assign(reinterpret_cast<const char*>(salt.data()), kSaltBytes);
  c.iterations = kDefaultIterations;
  c.stored_key = hmac(key, "stored:" + std::string(username));
  c.server_key = hmac(key, "server:" + std::string(username));
  return c;
}

// ---- syntax helpers -------------------------------------------------------------------------

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// RFC 5802 "printable": %x21-2B / %x2D-7E (visible ASCII except ',').
bool valid_nonce(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7E || c == ',') return false;
  }
  return true;
}

bool valid_username(std::string_view u) {
  return !u.empty() && u.size() <= kMaxUsernameBytes && u.find('\0') == std::string_view::npos;
}

std::string escape_username(std::string_view u) {
  std::string out;
  out.reserve(u.size());
  for (char c : u) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> unescape_username(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '=') {
      out += s[i];
      continue;
    }
    std::string_view esc = s.substr(i, 3);
    if (esc == "=2C") {
      out += ',';
    } else if (esc == "=3D") {
      out += '=';
    } else {
      return fail(malformed("username contains '=' not followed by 2C or 3D"));
    }
    i += 2;
  }
  if (out.empty()) return fail(malformed("username is empty"));
  if (out.size() > kMaxUsernameBytes) {
    return fail(
        malformed("username is longer than " + std::to_string(kMaxUsernameBytes) + " bytes"));
  }
  return out;
}

// posit-number = %x31-39 *DIGIT; at most 10 digits so it fits in 64 bits without overflow.
std::optional<std::uint64_t> parse_positive(std::string_view s) {
  if (s.empty() || s.size() > 10 || s[0] < '1' || s[0] > '9') return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

Status check_message(std::string_view msg, std::string_view what) {
  if (msg.empty()) return fail(malformed(std::string(what) + " is empty"));
  if (msg.size() > kMaxMessageBytes) {
    return fail(malformed(std::string(what) + " is longer than " +
                          std::to_string(kMaxMessageBytes) + " bytes"));
  }
  if (msg.find('\0') != std::string_view::npos) {
    return fail(malformed(std::string(what) + " contains a NUL byte"));
  }
  return {};
}

struct Attr {
  char name;
  std::string_view value;
};

// Splits "a=x,b=y,..." into attributes; every field must be ALPHA "=" value.
Result<std::vector<Attr>> split_attrs(std::string_view msg, std::string_view what) {
  std::vector<Attr> out;
  std::size_t pos = 0;
  while (true) {
    std::size_t comma = msg.find(',', pos);
    std::string_view field =
        msg.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (field.size() < 2 || !is_alpha(field[0]) || field[1] != '=') {
      return fail(malformed(std::string(what) + " has a malformed attribute (expected x=value)"));
    }
    out.push_back({field[0], field.substr(2)});
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

// Optional extensions after the required attributes: well-formed (split_attrs checked that)
// and ignored, but they must not repeat or smuggle a required attribute.
Status check_extensions(const std::vector<Attr>& attrs, std::size_t first,
                        std::string_view reserved, std::string_view what) {
  for (std::size_t i = first; i < attrs.size(); ++i) {
    if (reserved.find(attrs[i].name) != std::string_view::npos) {
      return fail(malformed(std::string(what) + " has a duplicate or misplaced '" +
                            std::string(1, attrs[i].name) + "=' attribute"));
    }
  }
  return {};
}

Status expect_attr(const std::vector<Attr>& attrs, std::size_t i, char name,
                   std::string_view what) {
  if (i >= attrs.size() || attrs[i].name != name) {
    return fail(malformed(std::string(what) + " is missing '" + std::string(1, name) +
                          "=' at position " + std::to_string(i + 1)));
  }
  return {};
}

std::string random_nonce() {
  return base64_encode(random_bytes(kNonceRandomBytes));
}

}  // namespace

// ---- base64 ---------------------------------------------------------------------------------

std::string base64_encode(std::string_view bytes) {
  return crypto::base64_encode(bytes);
}

Result<std::string> base64_decode(std::string_view text) {
  return crypto::base64_decode(text);
}

// ---- stored credentials ---------------------------------------------------------------------

StoredCredentials derive_credentials(std::string_view password, std::string_view salt,
                                     std::uint32_t iterations) {
  Keys keys;
  derive_keys(password, salt, iterations, keys);
  StoredCredentials c;
  c.salt = std::string(salt);
  c.iterations = iterations;
  c.stored_key = keys.stored_key;
  c.server_key = keys.server_key;
  return c;
}

StoredCredentials make_credentials(std::string_view password, std::uint32_t iterations) {
  return derive_credentials(password, random_bytes(kSaltBytes), iterations);
}

namespace {
constexpr std::string_view kCredentialsPrefix = "SCRAM-SHA-256$";
}  // namespace

std::string to_string(const StoredCredentials& c) {
  return std::string(kCredentialsPrefix) + std::to_string(c.iterations) + ":" +
         base64_encode(c.salt) + "$" + base64_encode(view(c.stored_key)) + ":" +
         base64_encode(view(c.server_key));
}

Result<StoredCredentials> parse_credentials(std::string_view text) {
  auto bad = [](std::string d) {
    return fail(Error::bad_request("SCRAM credentials: " + std::move(d) +
                                   " (expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:"
                                   "<ServerKey>)"));
  };
  if (text.size() > kMaxMessageBytes) return bad("text is too long");
  if (!text.starts_with(kCredentialsPrefix)) return bad("missing SCRAM-SHA-256$ prefix");
  text.remove_prefix(kCredentialsPrefix.size());
  std::size_t dollar = text.find('$');
  if (dollar == std::string_view::npos) return bad("missing '$' before the keys");
  std::string_view params = text.substr(0, dollar);
  std::string_view keys = text.substr(dollar + 1);
  std::size_t colon = params.find(':');
  if (colon == std::string_view::npos) return bad("missing ':' between iterations and salt");
  std::size_t key_colon = keys.find(':');
  if (key_colon == std::string_view::npos) return bad("missing ':' between the keys");

  StoredCredentials c;
  auto iterations = parse_positive(params.substr(0, colon));
  if (!iterations || *iterations > static_cast<std::uint64_t>(INT_MAX)) {
    return bad("iteration count must be a decimal number in [1, " + std::to_string(INT_MAX) + "]");
  }
  c.iterations = static_cast<std::uint32_t>(*iterations);

  auto salt = base64_decode(params.substr(colon + 1));
  if (!salt || salt->empty()) return bad("salt is not non-empty base64");
  c.salt = std::move(*salt);

  auto decode_key = [](std::string_view b64, Key& out) {
    auto raw = base64_decode(b64);
    if (!raw || raw->size() != out.size()) return false;
    std::copy(raw->begin(), raw->end(), out.begin());
    return true;
  };
  if (!decode_key(keys.substr(0, key_colon), c.stored_key)) {
    return bad("StoredKey is not 32 bytes of base64");
  }
  if (!decode_key(keys.substr(key_colon + 1), c.server_key)) {
    return bad("ServerKey is not 32 bytes of base64");
  }
  return c;
}

// ---- client ---------------------------------------------------------------------------------

ClientExchange::ClientExchange(std::string username, std::string password, std::string nonce)
    : username_(std::move(username)), password_(std::move(password)), nonce_(std::move(nonce)) {
  if (!valid_username(username_)) {
    throw std::invalid_argument("SCRAM: username must be 1..255 bytes without NUL");
  }
  if (nonce_.empty()) nonce_ = random_nonce();
  if (!valid_nonce(nonce_)) {
    throw std::invalid_argument("SCRAM: nonce must be printable ASCII without ','");
  }
  client_first_bare_ = "n=" + escape_username(username_) + ",r=" + nonce_;
}

ClientExchange::~ClientExchange() {
  wipe(password_);
}

std::string ClientExchange::client_first() {
  if (state_ == State::kInitial) state_ = State::kSentFirst;
  return "n,," + client_first_bare_;
}

Result<std::string> ClientExchange::handle_server_first(std::string_view msg) {
  if (state_ != State::kSentFirst) {
    state_ = State::kFailed;
    return fail(out_of_order("handle_server_first"));
  }
  auto r = process_server_first(msg);
  wipe(password_);  // one attempt per exchange, success or not
  state_ = r ? State::kSentFinal : State::kFailed;
  return r;
}

Result<std::string> ClientExchange::process_server_first(std::string_view msg) {
  constexpr std::string_view what = "server-first message";
  if (auto s = check_message(msg, what); !s) return fail(s.error());
  auto attrs = split_attrs(msg, what);
  if (!attrs) return fail(attrs.error());
  if ((*attrs)[0].name == 'm') return fail(malformed("mandatory extension (m=) is not supported"));
  for (std::size_t i = 0; i < 3; ++i) {
    if (auto s = expect_attr(*attrs, i, "rsi"[i], what); !s) return fail(s.error());
  }
  if (auto s = check_extensions(*attrs, 3, "mrsi", what); !s) return fail(s.error());

  std::string_view nonce = (*attrs)[0].value;
  if (!valid_nonce(nonce)) return fail(malformed("server nonce is not printable ASCII"));
  if (!nonce.starts_with(nonce_) || nonce.size() == nonce_.size()) {
    return fail(unauthorized("server nonce does not extend the client nonce"));
  }
  auto salt = base64_decode((*attrs)[1].value);
  if (!salt) return fail(malformed("salt is not valid base64"));
  if (salt->empty()) return fail(malformed("salt is empty"));
  auto iterations = parse_positive((*attrs)[2].value);
  if (!iterations) return fail(malformed("iteration count is not a positive decimal number"));
  if (*iterations < kMinClientIterations || *iterations > kMaxClientIterations) {
    return fail(malformed(
        "iteration count " + std::string((*attrs)[2].value) + " is outside the accepted range [" +
        std::to_string(kMinClientIterations) + ", " + std::to_string(kMaxClientIterations) + "]"));
  }

  Keys keys;
  derive_keys(password_, *salt, static_cast<std::uint32_t>(*iterations), keys);
  std::string without_proof = "c=biws,r=" + std::string(nonce);
  std::string auth_message = client_first_bare_ + "," + std::string(msg) + "," + without_proof;
  Key proof = hmac(keys.stored_key, auth_message);  // ClientSignature
  for (std::size_t i = 0; i < proof.size(); ++i)
    proof[i] ^= keys.client_key[i];
  expected_server_signature_ = hmac(keys.server_key, auth_message);
  return without_proof + ",p=" + base64_encode(view(proof));
}

Status ClientExchange::verify_server_final(std::string_view msg) {
  if (state_ != State::kSentFinal) {
    state_ = State::kFailed;
    return fail(out_of_order("verify_server_final"));
  }
  auto r = process_server_final(msg);
  state_ = r ? State::kDone : State::kFailed;
  return r;
}

Status ClientExchange::process_server_final(std::string_view msg) {
  constexpr std::string_view what = "server-final message";
  if (auto s = check_message(msg, what); !s) return s;
  auto attrs = split_attrs(msg, what);
  if (!attrs) return fail(attrs.error());
  const Attr& first = (*attrs)[0];
  if (first.name == 'e') {
    std::string_view reason = first.value.substr(0, kMaxServerErrorEcho);
    return fail(unauthorized("server rejected authentication: " + std::string(reason)));
  }
  if (first.name != 'v') return fail(malformed("server-final message must start with v= or e="));
  if (auto s = check_extensions(*attrs, 1, "ve", what); !s) return s;
  auto signature = base64_decode(first.value);
  if (!signature || signature->size() != expected_server_signature_.size()) {
    return fail(malformed("server signature is not 32 bytes of base64"));
  }
  if (CRYPTO_memcmp(signature->data(), expected_server_signature_.data(),
                    expected_server_signature_.size()) != 0) {
    return fail(unauthorized("server signature mismatch (the server does not hold the key)"));
  }
  return {};
}

// ---- server ---------------------------------------------------------------------------------

ServerExchange::ServerExchange(Lookup lookup, std::string nonce)
    : lookup_(std::move(lookup)), server_nonce_(std::move(nonce)) {
  if (!lookup_) throw std::invalid_argument("SCRAM: lookup must not be empty");
  if (server_nonce_.empty()) server_nonce_ = random_nonce();
  if (!valid_nonce(server_nonce_)) {
    throw std::invalid_argument("SCRAM: nonce must be printable ASCII without ','");
  }
  (void)fake_salt_key();  // initialise (and surface RAND failures) before any message
}

Result<std::string> ServerExchange::handle_client_first(std::string_view msg) {
  if (state_ != State::kInitial) {
    state_ = State::kFailed;
    return fail(out_of_order("handle_client_first"));
  }
  auto r = process_client_first(msg);
  state_ = r ? State::kSentServerFirst : State::kFailed;
  return r;
}

Result<std::string> ServerExchange::process_client_first(std::string_view msg) {
  constexpr std::string_view what = "client-first message";
  if (auto s = check_message(msg, what); !s) return fail(s.error());
  // gs2-header: only "n,," and "y,," (no channel binding, no authzid).
  if (msg.starts_with("p=")) return fail(malformed("channel binding (p=) is not supported"));
  if (msg.size() < 3 || (msg[0] != 'n' && msg[0] != 'y') || msg[1] != ',') {
    return fail(malformed("client-first message must start with \"n,,\" or \"y,,\""));
  }
  if (msg[2] != ',') {
    if (msg.substr(2).starts_with("a=")) {
      return fail(malformed("authorization identity (a=) is not supported"));
    }
    return fail(malformed("client-first message must start with \"n,,\" or \"y,,\""));
  }
  std::string_view bare = msg.substr(3);
  auto attrs = split_attrs(bare, what);
  if (!attrs) return fail(attrs.error());
  if ((*attrs)[0].name == 'm') return fail(malformed("mandatory extension (m=) is not supported"));
  if (auto s = expect_attr(*attrs, 0, 'n', what); !s) return fail(s.error());
  if (auto s = expect_attr(*attrs, 1, 'r', what); !s) return fail(s.error());
  if (auto s = check_extensions(*attrs, 2, "mnr", what); !s) return fail(s.error());

  auto username = unescape_username((*attrs)[0].value);
  if (!username) return fail(username.error());
  std::string_view client_nonce = (*attrs)[1].value;
  if (!valid_nonce(client_nonce)) {
    return fail(malformed("client nonce must be non-empty printable ASCII without ','"));
  }

  username_ = std::move(*username);
  std::optional<StoredCredentials> found = lookup_(username_);
  known_user_ = found.has_value();
  if (found) {
    if (found->salt.empty() || found->iterations == 0) {
      return fail(Error::internal("SCRAM: stored credentials have an empty salt or 0 iterations"));
    }
    credentials_ = std::move(*found);
  } else {
    credentials_ = fake_credentials(username_);
  }

  gs2_header_ = std::string(msg.substr(0, 3));
  client_first_bare_ = std::string(bare);
  nonce_ = std::string(client_nonce) + server_nonce_;
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(credentials_.salt) +
                  ",i=" + std::to_string(credentials_.iterations);
  return server_first_;
}

Result<std::string> ServerExchange::handle_client_final(std::string_view msg) {
  if (state_ != State::kSentServerFirst) {
    state_ = State::kFailed;
    return fail(out_of_order("handle_client_final"));
  }
  auto r = process_client_final(msg);
  state_ = r ? State::kDone : State::kFailed;
  return r;
}

Result<std::string> ServerExchange::process_client_final(std::string_view msg) {
  constexpr std::string_view what = "client-final message";
  if (auto s = check_message(msg, what); !s) return fail(s.error());
  // The proof is the last attribute; everything before it is signed as-is.
  std::size_t last_comma = msg.rfind(',');
  if (last_comma == std::string_view::npos || !msg.substr(last_comma + 1).starts_with("p=")) {
    return fail(malformed("client-final message must end with the proof (p=)"));
  }
  std::string_view without_proof = msg.substr(0, last_comma);
  std::string_view proof_b64 = msg.substr(last_comma + 3);
  auto attrs = split_attrs(without_proof, what);
  if (!attrs) return fail(attrs.error());
  if (auto s = expect_attr(*attrs, 0, 'c', what); !s) return fail(s.error());
  if (auto s = expect_attr(*attrs, 1, 'r', what); !s) return fail(s.error());
  if (auto s = check_extensions(*attrs, 2, "mcrp", what); !s) return fail(s.error());

  auto binding = base64_decode((*attrs)[0].value);
  if (!binding) return fail(malformed("channel binding (c=) is not valid base64"));
  auto proof = base64_decode(proof_b64);
  if (!proof || proof->size() != Key{}.size()) {
    return fail(malformed("proof (p=) is not 32 bytes of base64"));
  }
  if (*binding != gs2_header_) {
    return fail(unauthorized("channel binding (c=) does not match the client-first header"));
  }
  if ((*attrs)[1].value != nonce_) return fail(unauthorized("nonce does not match"));

  // Same work for known and unknown users (the latter verify against fake keys, then fail).
  std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  Key client_key = hmac(credentials_.stored_key, auth_message);  // ClientSignature
  for (std::size_t i = 0; i < client_key.size(); ++i) {
    client_key[i] ^= static_cast<std::uint8_t>((*proof)[i]);
  }
  Key computed_stored_key = sha256(client_key);
  wipe(client_key);
  bool proof_ok = CRYPTO_memcmp(computed_stored_key.data(), credentials_.stored_key.data(),
                                computed_stored_key.size()) == 0;
  if (!proof_ok || !known_user_) return fail(unauthorized(std::string(kAuthFailed)));
  return "v=" + base64_encode(view(hmac(credentials_.server_key, auth_message)));
}

}  // namespace sluice::wire::scram
