# interlock_module(NAME SOURCES ... DEPS ...): one static library per module,
# aliased interlock::NAME, with include/ and src/ on its include path.
function(interlock_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(interlock_${name} STATIC ${ARG_SOURCES})
  add_library(interlock::${name} ALIAS interlock_${name})
  target_include_directories(interlock_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                                      ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(interlock_${name} PUBLIC ${ARG_DEPS} PRIVATE interlock_options)
  interlock_unity(interlock_${name})
endfunction()

# interlock_unity(TARGET): with INTERLOCK_UNITY_BUILD, TARGET's sources are compiled in
# batches of 8 (CMake's unity build): the headers every file includes (Boost.JSON, Asio,
# Beast, the standard library) are parsed and their templates instantiated once per batch
# instead of once per file, ~40% less CPU for a build from scratch (docs/performance.md,
# "Build time"). The files of one module must then not define two helpers of the same name
# in their anonymous namespaces. GCC's -Wsubobject-linkage assumes a file that is included
# is a header; in a batch every file is included, so it is off there.
function(interlock_unity target)
  if(INTERLOCK_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
    target_compile_options(${target} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
  endif()
endfunction()

# interlock_test(NAME SOURCES ... DEPS ...): a GoogleTest executable registered with CTest.
# Its files are compiled in unity batches too (interlock_unity; a unit-test directory is one
# executable): a test file writes its helpers and tests in `namespace INTERLOCK_TEST_NS {`,
# which is the anonymous namespace in a build of one file per compile and a namespace of its
# own per file in a batch (CMake's UNITY_BUILD_UNIQUE_ID), so that two files' `Case` or
# `Harness` do not meet. Registered with CTest case by case, or as INTERLOCK_TEST_SHARDS
# shards (CMakeLists.txt).
function(interlock_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  interlock_unity(${name})
  set_target_properties(${name} PROPERTIES UNITY_BUILD_UNIQUE_ID INTERLOCK_TEST_NS)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main
                                        interlock_options)
  target_compile_definitions(${name} PRIVATE
    INTERLOCK_TEST_NS=  # empty: the anonymous namespace; a batch redefines it file by file
    INTERLOCK_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    INTERLOCK_BINARY_DIR="${PROJECT_BINARY_DIR}")
  if(INTERLOCK_TEST_SHARDS GREATER 0)
    # The executable whole, in INTERLOCK_TEST_SHARDS processes (GoogleTest's sharding: case
    # i runs in shard i mod N); only the failures printed (--gtest_brief).
    math(EXPR _last "${INTERLOCK_TEST_SHARDS} - 1")
    foreach(_shard RANGE ${_last})
      add_test(NAME ${name}.shard${_shard} COMMAND ${name} --gtest_brief=1)
      set_tests_properties(${name}.shard${_shard} PROPERTIES
        LABELS "${ARG_LABELS}" TIMEOUT 1800
        ENVIRONMENT "GTEST_TOTAL_SHARDS=${INTERLOCK_TEST_SHARDS};GTEST_SHARD_INDEX=${_shard}")
    endforeach()
  else()
    gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                         PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300)
  endif()
  if("unit" IN_LIST ARG_LABELS)
    set_property(GLOBAL APPEND PROPERTY INTERLOCK_UNIT_TESTS ${name})
  endif()
endfunction()

# interlock_fuzzer(NAME SOURCES ... DEPS ...): a libFuzzer target (clang only).
function(interlock_fuzzer name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} interlock_options)
  set_property(GLOBAL APPEND PROPERTY INTERLOCK_FUZZERS ${name})
endfunction()

# interlock_use_allocator(TARGET): links the allocator the `interlock` program ships with
# (INTERLOCK_MALLOC), so benchmarks measure what users run. No-op under sanitizers/fuzzing.
function(interlock_use_allocator target)
  if(INTERLOCK_MALLOC STREQUAL "jemalloc" AND NOT INTERLOCK_SANITIZE AND NOT INTERLOCK_BUILD_FUZZ)
    find_library(INTERLOCK_JEMALLOC NAMES jemalloc REQUIRED)
    target_link_libraries(${target} PRIVATE ${INTERLOCK_JEMALLOC})
  endif()
endfunction()
