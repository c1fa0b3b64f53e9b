# Embeds the console's files (this folder) into a C++ source at build time:
#   cmake -DOUTPUT=<file.cc> -DASSETS="kSymbol=path;..." -P embed.cmake
# Each file becomes a byte array and an `extern const std::string_view kSymbol` in
# interlock::server (declared in doors/http_api/ui_assets_internal.h). The bytes are written as hex, so
# no content (a `)ui"`, a NUL, any encoding) can end a literal early or break the build, and
# the daemon serves exactly the bytes of the file.
if(NOT OUTPUT OR NOT ASSETS)
  message(FATAL_ERROR "embed.cmake: OUTPUT and ASSETS are required")
endif()

string(REPEAT "'\\\\x[0-9a-f][0-9a-f]'," 16 sixteen_bytes)
set(arrays "")
set(views "")
foreach(asset IN LISTS ASSETS)
  string(REGEX MATCH "^([A-Za-z0-9_]+)=(.+)$" matched "${asset}")
  if(NOT matched)
    message(FATAL_ERROR "embed.cmake: '${asset}' is not kSymbol=path")
  endif()
  set(symbol "${CMAKE_MATCH_1}")
  set(path "${CMAKE_MATCH_2}")
  file(READ "${path}" hex HEX)
  file(SIZE "${path}" size)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," hex "${hex}")
  string(REGEX REPLACE "(${sixteen_bytes})" "\\1\n    " hex "${hex}")
  cmake_path(GET path FILENAME name)
  # A trailing NUL keeps the array non-empty for an empty file; the view excludes it.
  string(APPEND arrays
    "// ${name}\n"
    "constexpr char ${symbol}Bytes[] = {\n    ${hex}'\\0'};\n"
    "static_assert(sizeof(${symbol}Bytes) == ${size} + 1);\n\n")
  string(APPEND views "extern const std::string_view ${symbol}{${symbol}Bytes, ${size}};\n")
endforeach()

string(CONCAT text "// Generated at build time by src/doors/http_api/ui/embed.cmake from src/doors/http_api/ui/: do not edit.\n"
         "#include \"doors/http_api/ui_assets_internal.h\"\n\n"
         "namespace interlock::server {\n"
         "namespace {\n\n"
         "${arrays}"
         "}  // namespace\n\n"
         "${views}\n"
         "}  // namespace interlock::server\n")
# Rewrite only on change, so an unchanged asset set does not recompile the server.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${text}")
