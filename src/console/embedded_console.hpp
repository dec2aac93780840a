#pragma once
// The web console embedded in the binary: the files Vite built from console/ at build time
// (cmake/ConsoleBuild.cmake generates their definition), or one placeholder page at "/" when
// this build had no Node.js and npm (or the console's build failed).
#include <span>
#include <string_view>

#include "http/console_routes.hpp"

namespace sluice::console {

// Every file, for http::add_console_routes. Static storage: valid for the life of the process.
std::span<const http::ConsoleFile> embedded_files();

// Why the console is a placeholder page, or "" when the real console is embedded.
std::string_view placeholder_reason();

}  // namespace sluice::console
