#include "keys/key_secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "keys/key_format.hpp"

namespace sluice::keys {
namespace {

Error io_error(const std::string& what, const std::string& path) {
  return Error::internal(what + " " + path + ": " + std::strerror(errno));
}

Result<std::string> read_secret(int fd, const std::string& path) {
  std::string out;
  char buf[256];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(io_error("cannot read", path));
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > 4096) return fail(Error::internal(path + " is larger than 4 KiB"));
  }
  if (out.size() < 16) {
    return fail(Error::internal(path + " holds " + std::to_string(out.size()) +
                                " bytes; a key secret needs at least 16"));
  }
  return out;
}

}  // namespace

Result<std::string> load_or_create_secret(const std::string& path) {
  if (path.empty()) return fail(Error::internal("no key secret file configured"));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    auto secret = read_secret(fd, path);
    ::close(fd);
    return secret;
  }
  if (errno != ENOENT) return fail(io_error("cannot open", path));
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return fail(Error::internal("cannot create " + parent.string() + ": " + ec.message()));
    std::filesystem::permissions(parent, std::filesystem::perms::owner_all, ec);
  }
  std::string secret;
  try {
    secret = random_bytes(kSecretFileBytes);
  } catch (const std::exception& e) {
    return fail(Error::internal(e.what()));
  }
  // O_EXCL: when two daemons race, the loser reads the winner's file.
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return load_or_create_secret(path);
    return fail(io_error("cannot create", path));
  }
  std::size_t written = 0;
  while (written < secret.size()) {
    ssize_t n = ::write(fd, secret.data() + written, secret.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto err = io_error("cannot write", path);
      ::close(fd);
      ::unlink(path.c_str());
      return fail(err);
    }
    written += static_cast<std::size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return fail(io_error("cannot sync", path));
  return secret;
}

}  // namespace sluice::keys
