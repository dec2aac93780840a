# Builds the web console and embeds it in sluiced (src/console/CMakeLists.txt runs this at build
# time, in script mode). Never fails the build: when node, npm or the packages are missing, or
# the build breaks, the embedded console is a one-page placeholder that says why and how to get
# the real one (install nodejs and npm, then rebuild).
#
#   cmake -DSOURCE=<repo>/console -DWORK=<build>/console -DDIST=<build>/console-dist
#         -DOUT=<generated .cpp> -DSTAMP=<stamp file> [-DNPM=<npm> -DNODE=<node>]
#         [-DREASON=<why there is no console>] -P cmake/ConsoleBuild.cmake
#
# OUT is rewritten only when its text changes. A placeholder made because something was missing
# or failed leaves STAMP dated 1970, so the next build tries again (after `apt-get install nodejs
# npm`, `make build` embeds the real console).
#
# 1. console/ is copied to WORK (the build directory's own node_modules, so build directories
#    never share or race on one, and the source tree stays clean);
# 2. `npm ci` runs there only when package-lock.json differs from the one it last installed;
# 3. `npm run build` (tsc, vite build, scripts/gzip.mjs) writes DIST;
# 4. every file of DIST becomes bytes in OUT (ConsoleEmbed.cmake).
cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/ConsoleEmbed.cmake)

# The last 1500 characters of `text` into `var` (what a failing tool said last).
function(console_tail var text)
  string(LENGTH "${text}" n)
  if(n GREATER 1500)
    math(EXPR from "${n} - 1500")
    string(SUBSTRING "${text}" ${from} -1 text)
  endif()
  set(${var} "${text}" PARENT_SCOPE)
endfunction()

# A placeholder that is tried again at the next build: the stamp (the command's second output)
# goes back to 1970, so ninja sees the command out of date and runs it again.
function(console_fallback why)
  message(WARNING "sluice: the web console is a placeholder page: ${why}")
  console_embed_placeholder("${OUT}" "${why}")
  if(STAMP)
    file(TOUCH "${STAMP}")
    find_program(TOUCH touch PATHS /usr/bin /bin)
    if(TOUCH)
      execute_process(COMMAND "${TOUCH}" -d @0 "${STAMP}" RESULT_VARIABLE ignored)
    endif()
  endif()
endfunction()

if(DEFINED REASON AND NOT REASON STREQUAL "")
  console_embed_placeholder("${OUT}" "${REASON}")
  if(STAMP)
    file(TOUCH "${STAMP}")
  endif()
  return()
endif()

# 0. node 18 or later (Vite 5) and npm, found at configure time or now.
if(NOT NPM OR NOT NODE)
  find_program(NPM npm)
  find_program(NODE node)
endif()
if(NOT NPM OR NOT NODE)
  console_fallback("node and npm were not found when it was built.")
  return()
endif()
execute_process(COMMAND "${NODE}" --version OUTPUT_VARIABLE node_version
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
string(REGEX REPLACE "^v([0-9]+).*" "\\1" node_major "${node_version}")
if(NOT node_major MATCHES "^[0-9]+$" OR node_major LESS 18)
  console_fallback("its node (${node_version}) is older than Node.js 18, which the console's build (Vite 5) needs.")
  return()
endif()

# 1. The sources, without what an earlier build or a developer's `npm install` left in console/.
file(REMOVE_RECURSE "${WORK}/src")
file(COPY "${SOURCE}/" DESTINATION "${WORK}"
     PATTERN "node_modules" EXCLUDE
     PATTERN "dist" EXCLUDE)

# 2. npm ci when the lock file changed (its last installed copy is the stamp).
set(stamp "${WORK}/node_modules/.sluice-installed-lock.json")
file(SHA256 "${SOURCE}/package-lock.json" lock_hash)
set(installed_hash "")
if(EXISTS "${stamp}")
  file(SHA256 "${stamp}" installed_hash)
endif()
if(NOT lock_hash STREQUAL installed_hash)
  message(STATUS "console: npm ci (package-lock.json changed)")
  execute_process(COMMAND "${NPM}" ci --no-audit --no-fund --loglevel=error
                  WORKING_DIRECTORY "${WORK}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    console_tail(err "${err}")
    console_fallback("npm ci failed (exit ${rc}): ${err}")
    return()
  endif()
  file(COPY_FILE "${SOURCE}/package-lock.json" "${stamp}")
endif()

# 3. The bundle.
execute_process(COMMAND "${CMAKE_COMMAND}" -E env "SLUICE_CONSOLE_DIST=${DIST}" "${NPM}" run build
                WORKING_DIRECTORY "${WORK}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT EXISTS "${DIST}/index.html")
  console_tail(said "${out}${err}")
  console_fallback("npm run build failed (exit ${rc}): ${said}")
  return()
endif()
string(REGEX MATCH "console: [^\n]*" summary "${out}")
message(STATUS "${summary}")

# 4. Into the binary.
console_embed_dist("${DIST}" "${OUT}")
if(STAMP)
  file(TOUCH "${STAMP}")
endif()
