#include "media/protocols/webrtc/dtls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>

#include "media/protocols/text.hpp"

namespace sluice::media::webrtc {

struct DtlsCertificate::Native {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~Native() {
    EVP_PKEY_free(key);
    X509_free(cert);
  }
};

struct DtlsEndpoint::Native {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  BIO* rbio = nullptr;  // owned by ssl
  BIO* wbio = nullptr;  // owned by ssl
  ~Native() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
};

namespace {

constexpr long kMtu = 1200;
constexpr std::uint16_t kAes128CmSha1_80 = 0x0001;
constexpr std::uint16_t kAeadAes128Gcm = 0x0007;

std::string openssl_error(const char* what) {
  char text[256] = {0};
  const unsigned long e = ERR_get_error();
  if (e != 0) ERR_error_string_n(e, text, sizeof text);
  ERR_clear_error();
  return std::string("DTLS: ") + what + (e != 0 ? std::string(": ") + text : std::string());
}

std::string sha256_fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
  std::string out;
  char b[4];
  for (unsigned int i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, i + 1 < n ? "%02X:" : "%02X", md[i]);
    out += b;
  }
  return out;
}

// The write side: every write DTLS makes is one datagram, collected in the vector BIO_get_data
// points at while an operation runs (null otherwise: writes then fail).
int write_datagram(BIO* bio, const char* data, int size) {
  auto* out = static_cast<std::vector<std::string>*>(BIO_get_data(bio));
  if (!out || size < 0) return -1;
  out->emplace_back(data, static_cast<std::size_t>(size));
  return size;
}
long control(BIO*, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
      return kMtu;
    default:
      return 0;
  }
}
int create_bio(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}
const BIO_METHOD* datagram_out() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sluice-dtls-out");
    BIO_meth_set_write(m, write_datagram);
    BIO_meth_set_ctrl(m, control);
    BIO_meth_set_create(m, create_bio);
    return m;
  }();
  return method;
}

int accept_any_certificate(int, X509_STORE_CTX*) {
  return 1;  // trusted by fingerprint after the handshake, not by a chain
}

}  // namespace

DtlsCertificate::DtlsCertificate() : native_(std::make_unique<Native>()) {}
DtlsCertificate::~DtlsCertificate() = default;

Result<std::shared_ptr<const DtlsCertificate>> DtlsCertificate::generate() {
  std::shared_ptr<DtlsCertificate> c(new DtlsCertificate());
  Native& n = *c->native_;
  n.key = EVP_EC_gen("P-256");
  n.cert = X509_new();
  if (!n.key || !n.cert) return fail(Error::internal(openssl_error("key generation failed")));
  X509_set_version(n.cert, 2);
  std::uint32_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set(X509_get_serialNumber(n.cert), static_cast<long>(serial & 0x7FFFFFFF));
  X509_gmtime_adj(X509_getm_notBefore(n.cert), -86400L);
  X509_gmtime_adj(X509_getm_notAfter(n.cert), 30L * 86400L);
  X509_set_pubkey(n.cert, n.key);
  X509_NAME* name = X509_get_subject_name(n.cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("sluice"), -1, -1, 0);
  X509_set_issuer_name(n.cert, name);
  if (X509_sign(n.cert, n.key, EVP_sha256()) == 0) {
    return fail(Error::internal(openssl_error("certificate signing failed")));
  }
  c->fingerprint_ = sha256_fingerprint(n.cert);
  return std::shared_ptr<const DtlsCertificate>(std::move(c));
}

DtlsEndpoint::~DtlsEndpoint() = default;

Result<std::unique_ptr<DtlsEndpoint>> DtlsEndpoint::create(
    Role role, std::shared_ptr<const DtlsCertificate> certificate, std::string remote_fingerprint) {
  std::unique_ptr<DtlsEndpoint> e(new DtlsEndpoint());
  e->native_ = std::make_unique<Native>();
  e->certificate_ = std::move(certificate);
  e->remote_fingerprint_ = std::move(remote_fingerprint);
  Native& n = *e->native_;
  ERR_clear_error();
  n.ctx = SSL_CTX_new(DTLS_method());
  if (!n.ctx) return fail(Error::internal(openssl_error("no DTLS context")));
  SSL_CTX_set_min_proto_version(n.ctx, DTLS1_2_VERSION);
  if (SSL_CTX_use_certificate(n.ctx, e->certificate_->native().cert) != 1 ||
      SSL_CTX_use_PrivateKey(n.ctx, e->certificate_->native().key) != 1) {
    return fail(Error::internal(openssl_error("certificate not usable")));
  }
  SSL_CTX_set_verify(n.ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     accept_any_certificate);
  // Note the inverted return: 0 is success.
  if (SSL_CTX_set_tlsext_use_srtp(n.ctx, "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0) {
    return fail(Error::internal(openssl_error("no SRTP profiles")));
  }
  n.ssl = SSL_new(n.ctx);
  n.rbio = BIO_new(BIO_s_mem());
  n.wbio = BIO_new(datagram_out());
  if (!n.ssl || !n.rbio || !n.wbio) {
    BIO_free(n.rbio);
    BIO_free(n.wbio);
    return fail(Error::internal(openssl_error("no DTLS session")));
  }
  BIO_set_mem_eof_return(n.rbio, -1);
  SSL_set_bio(n.ssl, n.rbio, n.wbio);
  SSL_set_options(n.ssl, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu(n.ssl, kMtu);
  DTLS_set_link_mtu(n.ssl, kMtu);
  if (role == Role::kServer) {
    SSL_set_accept_state(n.ssl);
  } else {
    SSL_set_connect_state(n.ssl);
  }
  return e;
}

Status DtlsEndpoint::start(std::vector<std::string>& out) {
  if (SSL_is_server(native_->ssl)) return {};
  return advance(out);
}

Status DtlsEndpoint::on_datagram(std::span<const std::uint8_t> datagram,
                                 std::vector<std::string>& out) {
  if (failed_) return fail(Error::bad_request("DTLS: the session has failed"));
  if (datagram.empty() || datagram.size() > 65535)
    return fail(Error::bad_request("DTLS: bad size"));
  BIO_write(native_->rbio, datagram.data(), static_cast<int>(datagram.size()));
  return advance(out);
}

Status DtlsEndpoint::advance(std::vector<std::string>& out) {
  Native& n = *native_;
  ERR_clear_error();
  BIO_set_data(n.wbio, &out);
  Status status;
  if (!keys_) {
    const int r = SSL_do_handshake(n.ssl);
    if (r == 1) {
      status = [&]() -> Status {
        X509* peer = SSL_get1_peer_certificate(n.ssl);
        const std::string got = peer ? sha256_fingerprint(peer) : std::string();
        X509_free(peer);
        const auto space = remote_fingerprint_.find(' ');
        const std::string algorithm = remote_fingerprint_.substr(0, space);
        const std::string expected =
            space == std::string::npos ? std::string() : remote_fingerprint_.substr(space + 1);
        if (!text::iequals(algorithm, "sha-256") || got.empty() || !text::iequals(got, expected)) {
          return fail(Error::bad_request(
              "DTLS: the peer's certificate does not match the fingerprint its SDP announced"));
        }
        const SRTP_PROTECTION_PROFILE* profile = SSL_get_selected_srtp_profile(n.ssl);
        if (!profile) return fail(Error::bad_request("DTLS: no SRTP profile was agreed"));
        std::size_t key = 16, salt = 0;
        if (profile->id == kAes128CmSha1_80) salt = 14;
        if (profile->id == kAeadAes128Gcm) salt = 12;
        if (salt == 0) return fail(Error::bad_request("DTLS: an SRTP profile sluiced lacks"));
        std::string material(2 * (key + salt), '\0');
        if (SSL_export_keying_material(n.ssl, reinterpret_cast<unsigned char*>(material.data()),
                                       material.size(), "EXTRACTOR-dtls_srtp", 19, nullptr, 0,
                                       0) != 1) {
          return fail(Error::internal(openssl_error("keying material export failed")));
        }
        // client key, server key, client salt, server salt (RFC 5764 4.2).
        const std::string client = material.substr(0, key) + material.substr(2 * key, salt);
        const std::string server =
            material.substr(key, key) + material.substr(2 * key + salt, salt);
        const bool is_server = SSL_is_server(n.ssl) == 1;
        keys_ = SrtpKeys{static_cast<std::uint16_t>(profile->id), is_server ? server : client,
                         is_server ? client : server};
        return {};
      }();
    } else {
      const int e = SSL_get_error(n.ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        status = fail(Error::bad_request(openssl_error("handshake failed")));
      }
    }
  } else {
    // After the handshake only alerts (close_notify) and retransmitted flights arrive; there is
    // no application data (no data channels).
    char discard[2048];
    while (SSL_read(n.ssl, discard, sizeof discard) > 0) {
    }
  }
  BIO_set_data(n.wbio, nullptr);
  if (!status) failed_ = true;
  return status;
}

std::optional<std::chrono::milliseconds> DtlsEndpoint::next_timeout() const {
  struct timeval tv {};
  if (failed_ || DTLSv1_get_timeout(native_->ssl, &tv) != 1) return std::nullopt;
  return std::chrono::milliseconds(tv.tv_sec * 1000 + tv.tv_usec / 1000);
}

void DtlsEndpoint::on_timeout(std::vector<std::string>& out) {
  if (failed_) return;
  BIO_set_data(native_->wbio, &out);
  DTLSv1_handle_timeout(native_->ssl);
  BIO_set_data(native_->wbio, nullptr);
}

}  // namespace sluice::media::webrtc
